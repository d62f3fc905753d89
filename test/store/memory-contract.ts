import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Memory, MemoryStore } from '../../src/chat/memory-store.js';

export interface MemoryStoreFactory {
  open(): Promise<{ readonly kind: string; readonly memories: MemoryStore; close(): Promise<void> }>;
  dispose?(): Promise<void>;
}

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

function memory(userId: string, text: string, minute: number, personalityId: string | null = 'muse'): Memory {
  return { id: randomUUID(), userId, personalityId, text, sourceSessionId: null, createdAt: at(minute), updatedAt: at(minute), usedAt: at(minute) };
}

/** Long-term memories: kept per user, scoped by personality, changed and erased for good. */
export function memoryContract(name: string, kind: string, factory: MemoryStoreFactory): void {
  describe(`${name} store contract: memories`, () => {
    let store: Awaited<ReturnType<MemoryStoreFactory['open']>>;
    beforeAll(async () => {
      store = await factory.open();
      expect(store.kind).toBe(kind);
    });
    afterAll(async () => {
      await store?.close();
      await factory.dispose?.();
    });
    const texts = (list: Memory[]) => list.map((m) => m.text);

    it("keeps a user's memories, newest first, each personality seeing its own and everyone's", async () => {
      const user = `mem_${randomUUID().slice(0, 8)}`;
      const a = memory(user, 'Likes tea', 1);
      const b = memory(user, 'Lives in Ghent', 2, null);
      const c = memory(user, 'Plays chess', 3, 'coach');
      for (const m of [a, b, c, memory(`${user}_other`, 'Not yours', 4)]) await store.memories.insert(m);
      expect(texts(await store.memories.list({ userId: user }))).toEqual(['Plays chess', 'Lives in Ghent', 'Likes tea']);
      expect(texts(await store.memories.list({ userId: user, personalityId: 'muse' }))).toEqual(['Lives in Ghent', 'Likes tea']);
      expect(texts(await store.memories.list({ userId: user, personalityId: 'coach' }))).toEqual(['Plays chess', 'Lives in Ghent']);
      expect(await store.memories.get(a.id)).toEqual(a);
      expect(await store.memories.get(randomUUID())).toBeNull();
    });

    it('changes a memory, marks memories used, and deletes them one by one or all in scope', async () => {
      const user = `mem_${randomUUID().slice(0, 8)}`;
      const a = memory(user, 'Likes tea', 1);
      const b = memory(user, 'Lives in Ghent', 2, null);
      const c = memory(user, 'Plays chess', 3, 'coach');
      for (const m of [a, b, c]) await store.memories.insert(m);
      expect(await store.memories.update(a.id, 'Likes green tea', at(10))).toMatchObject({ text: 'Likes green tea', updatedAt: at(10), usedAt: at(10) });
      expect(await store.memories.update(randomUUID(), 'nothing', at(10))).toBeNull();
      await store.memories.touch([b.id, randomUUID()], at(20));
      expect((await store.memories.get(b.id))?.usedAt).toBe(at(20));
      expect(await store.memories.delete([c.id])).toBe(1);
      expect(await store.memories.get(c.id)).toBeNull();
      // A personality's "forget everything": what it sees goes, other personalities' own memories stay.
      const kept = memory(user, 'Runs marathons', 4, 'coach');
      await store.memories.insert(kept);
      expect(await store.memories.deleteAll({ userId: user, personalityId: 'muse' })).toBe(2);
      expect(texts(await store.memories.list({ userId: user }))).toEqual(['Runs marathons']);
      expect(await store.memories.deleteAll({ userId: user })).toBe(1);
      expect(await store.memories.list({ userId: user })).toEqual([]);
    });
  });
}
