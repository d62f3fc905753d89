import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/chat/store.js';
import type { NewMessage } from '../../src/chat/types.js';
import { newSession, type StoreFactory } from './store-contract.js';

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 1, second)).toISOString();

const question = (text: string, key: string | null = null): NewMessage => ({
  role: 'user',
  content: text,
  tokens: 3,
  createdAt: at(1),
  idempotencyKey: key,
  usage: null,
});
const answer = (text: string, key: string | null = null): NewMessage => ({
  role: 'assistant',
  content: text,
  tokens: 5,
  createdAt: at(2),
  idempotencyKey: key,
  usage: { promptTokens: 10, completionTokens: 4 },
});

/** A session's messages as a tree: each stored once, the conversation is the active path. */
export function treeContract(name: string, factory: StoreFactory): void {
  describe(`${name} store contract: the message tree`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await factory.open();
    });
    afterAll(async () => {
      await store?.close();
      await factory.dispose?.();
    });

    /** A session with `n` exchanges q1/a1 … qn/an on one line. */
    async function lineOf(n: number): Promise<string> {
      const session = newSession(`tree_${randomUUID().slice(0, 8)}`);
      await store.createSession(session);
      for (let i = 1; i <= n; i++) await store.appendExchange(session.id, [question(`q${i}`), answer(`a${i}`)], at(i));
      return session.id;
    }
    const contents = async (id: string, page: { limit: number; beforeSeq?: number; leafSeq?: number } = { limit: 100 }) =>
      (await store.readMessages(id, page)).map((m) => m.content);

    it('links each message to the one it follows, the first to none', async () => {
      const id = await lineOf(2);
      const stored = await store.readMessages(id, { limit: 10 });
      expect(stored.map((m) => [m.seq, m.parentSeq])).toEqual([
        [1, null],
        [2, 1],
        [3, 2],
        [4, 3],
      ]);
      expect((await store.appendExchange(id, [question('q3'), answer('a3')], at(3)))!.messages.map((m) => m.parentSeq)).toEqual([4, 5]);
    });

    it('regenerates: a sibling reply becomes the active leaf; the count stays, every reply is kept', async () => {
      const id = await lineOf(2);
      const first = await store.appendExchange(id, [answer('a2 again')], at(5), 4, 3);
      expect(first).toMatchObject({ messageCount: 2, messages: [{ seq: 5, parentSeq: 3, content: 'a2 again' }] });
      await store.appendExchange(id, [answer('a2 third')], at(6), 5, 3);
      expect(await contents(id)).toEqual(['q1', 'a1', 'q2', 'a2 third']);
      expect((await store.getSession(id))!.messageCount).toBe(2);
      const children = await store.childrenOf(id, [3, 1, null, 99]);
      expect([children.get(3), children.get(1), children.get(null), children.get(99)]).toEqual([[4, 5, 6], [2], [1], []]);
      expect((await store.readTree(id, { limit: 100 })).map((m) => m.content)).toEqual(['q1', 'a1', 'q2', 'a2', 'a2 again', 'a2 third']);
    });

    it('edits: a sibling user message and its reply; the path is as long as the edit point', async () => {
      const id = await lineOf(5);
      // The second question is seq 3, whose parent is seq 2.
      const edited = await store.appendExchange(id, [question('q2 edited'), answer('a2 edited')], at(20), 10, 2);
      expect(edited).toMatchObject({ messageCount: 2, messages: [{ seq: 11, parentSeq: 2 }, { seq: 12, parentSeq: 11 }] });
      expect(await contents(id)).toEqual(['q1', 'a1', 'q2 edited', 'a2 edited']);
      expect((await store.getSession(id))!.messageCount).toBe(2);
      // The old branch is intact, and readable by its leaf.
      expect(await contents(id, { limit: 100, leafSeq: 10 })).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q4', 'a4', 'q5', 'a5']);
      expect((await store.readTree(id, { limit: 100 })).map((m) => m.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    });

    it('selects: the path through a message, down its newest children, with its count', async () => {
      const id = await lineOf(5);
      await store.appendExchange(id, [question('q2 edited'), answer('a2 edited')], at(20), 10, 2);
      const back = await store.selectMessage(id, 3);
      expect(back).toMatchObject({ id, messageCount: 5 });
      expect(await contents(id)).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q4', 'a4', 'q5', 'a5']);
      expect((await store.getSession(id))!.messageCount).toBe(5);
      // Through the first message: down the newest child at each step, the edit.
      expect(await store.selectMessage(id, 1)).toMatchObject({ messageCount: 2 });
      expect(await contents(id)).toEqual(['q1', 'a1', 'q2 edited', 'a2 edited']);
      // A message in the middle of a path: its own path continues below it.
      await store.selectMessage(id, 6);
      expect(await contents(id)).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q4', 'a4', 'q5', 'a5']);
      // Sends continue the selected path.
      const next = await store.appendExchange(id, [question('q6'), answer('a6')], at(30));
      expect(next).toMatchObject({ messageCount: 6, messages: [{ parentSeq: 10 }, { parentSeq: 13 }] });
    });

    it('refuses what names nothing, changing nothing', async () => {
      const id = await lineOf(1);
      expect(await store.selectMessage(id, 99)).toBeNull();
      expect(await store.selectMessage(randomUUID(), 1)).toBeNull();
      expect(await store.appendExchange(id, [answer('orphan')], at(4), undefined, 99)).toBeNull();
      expect(await contents(id)).toEqual(['q1', 'a1']);
      await store.endSession(id, at(9));
      expect(await store.selectMessage(id, 1)).toBeNull();
      expect(await store.readMessages(randomUUID(), { limit: 10 })).toEqual([]);
      expect(await store.readTree(randomUUID(), { limit: 10 })).toEqual([]);
    });

    it('fences a branch built on a stale active leaf, and finds a keyed regenerate by its key', async () => {
      const id = await lineOf(2);
      expect(await store.appendExchange(id, [answer('stale')], at(5), 3, 3)).toBeNull();
      const keyed = await store.appendExchange(id, [answer('a2 keyed', 'regen-1')], at(6), 4, 3);
      expect(await store.findExchange(id, 'regen-1')).toEqual(keyed);
      await expect(store.appendExchange(id, [answer('again', 'regen-1')], at(7), 5, 3)).rejects.toThrow();
    });

    it('imports a session with its whole tree at once; it then reads, branches and continues like any other', async () => {
      const session = { ...newSession(`tree_${randomUUID().slice(0, 8)}`), title: 'Imported windmills', messageCount: 2, activeSeq: 5 };
      // q1 → a1 → (q2 → a2) | (q2' → a2'), the second version active.
      const shape: [number | null, 'user' | 'assistant', string][] = [
        [null, 'user', 'q1'], [1, 'assistant', 'a1'], [2, 'user', 'q2'], [3, 'assistant', 'a2'], [2, 'user', "q2'"], [5, 'assistant', "a2'"],
      ];
      session.activeSeq = 6;
      const messages = shape.map(([parentSeq, role, content], i) => ({
        seq: i + 1, parentSeq, role, content, tokens: 2, createdAt: at(i), idempotencyKey: null, usage: null,
      }));
      await store.importSession(session, messages);
      expect(await store.getSession(session.id)).toMatchObject({ messageCount: 2, activeSeq: 6, title: 'Imported windmills', status: 'active' });
      expect(await store.readTree(session.id, { limit: 100 })).toEqual(messages);
      expect(await contents(session.id)).toEqual(['q1', 'a1', "q2'", "a2'"]);
      expect((await store.childrenOf(session.id, [2])).get(2)).toEqual([3, 5]);
      expect(await store.selectMessage(session.id, 3)).toMatchObject({ messageCount: 2, activeSeq: 4 });
      const next = await store.appendExchange(session.id, [question('q3'), answer('a3')], at(30), 4);
      expect(next).toMatchObject({ messageCount: 3, messages: [{ seq: 7, parentSeq: 4 }, { seq: 8, parentSeq: 7 }] });
      const found = await store.searchSessions(session.userId, ['windmills'], { limit: 5 });
      expect(found.items.map((s) => s.id)).toEqual([session.id]);
    });

    it('pages a path by seq, newest first-page, whatever branches lie beside it', async () => {
      const id = await lineOf(4);
      for (let i = 0; i < 3; i++) await store.appendExchange(id, [answer(`a4 v${i}`)], at(10 + i), 8 + i, 7);
      expect(await contents(id, { limit: 3 })).toEqual(['a3', 'q4', 'a4 v2']);
      expect(await contents(id, { limit: 3, beforeSeq: 6 })).toEqual(['q2', 'a2', 'q3']);
      expect(await contents(id, { limit: 10, beforeSeq: 1 })).toEqual([]);
      const tree = await store.readTree(id, { limit: 4, afterSeq: 5 });
      expect(tree.map((m) => m.seq)).toEqual([6, 7, 8, 9]);
    });
  });
}
