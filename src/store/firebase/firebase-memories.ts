import type { Memory, MemoryScope, MemoryStore } from '../../chat/memory-store.js';
import { validKey, type TimedDatabase } from './firebase-access.js';

/** memories/{id}: one node per memory, found by user through the `.indexOn` in database.rules.json. */
interface MemoryNode {
  user_id: string;
  personality_id?: string;
  text: string;
  source_session_id?: string;
  created_at: string;
  updated_at: string;
  used_at: string;
}

const toMemory = (id: string, n: MemoryNode): Memory => ({
  id,
  userId: n.user_id,
  personalityId: n.personality_id ?? null,
  text: n.text,
  sourceSessionId: n.source_session_id ?? null,
  createdAt: n.created_at,
  updatedAt: n.updated_at,
  usedAt: n.used_at,
});

const inScope = (m: Memory, scope: MemoryScope) =>
  m.userId === scope.userId && (scope.personalityId === undefined || m.personalityId === null || m.personalityId === scope.personalityId);

/** Firebase's memories. A user keeps at most MEMORY_MAX_ITEMS per personality, so reading all of theirs is bounded. */
export class FirebaseMemories implements MemoryStore {
  constructor(private readonly timed: TimedDatabase) {}

  async list(scope: MemoryScope): Promise<Memory[]> {
    const query = this.#root().orderByChild('user_id').equalTo(scope.userId);
    const nodes = ((await this.timed.read(query)) ?? {}) as Record<string, MemoryNode>;
    return Object.entries(nodes)
      .map(([id, node]) => toMemory(id, node))
      .filter((m) => inScope(m, scope))
      .sort((a, b) => (a.updatedAt === b.updatedAt ? a.id.localeCompare(b.id) : a.updatedAt < b.updatedAt ? 1 : -1));
  }

  async get(id: string): Promise<Memory | null> {
    if (!validKey(id)) return null;
    const node = (await this.timed.read(this.#root().child(id))) as MemoryNode | null;
    return node ? toMemory(id, node) : null;
  }

  async insert(m: Memory): Promise<void> {
    const node: MemoryNode = {
      user_id: m.userId,
      text: m.text,
      created_at: m.createdAt,
      updated_at: m.updatedAt,
      used_at: m.usedAt,
      ...(m.personalityId !== null ? { personality_id: m.personalityId } : {}),
      ...(m.sourceSessionId !== null ? { source_session_id: m.sourceSessionId } : {}),
    };
    await this.timed.within(this.#root().child(m.id).set(node));
  }

  async update(id: string, text: string, updatedAt: string): Promise<Memory | null> {
    if (!validKey(id)) return null;
    // Only an existing memory changes: a transaction never recreates one deleted meanwhile. Null on a
    // first run before the value is fetched: writing null (a no-op on a missing node) makes it fetch and run again.
    const result = await this.timed.transaction(this.#root().child(id), (node: MemoryNode | null) =>
      node === null ? null : { ...node, text, updated_at: updatedAt, used_at: updatedAt },
    );
    const node = result.snapshot.val() as MemoryNode | null;
    return result.committed && node ? toMemory(id, node) : null;
  }

  async touch(ids: readonly string[], usedAt: string): Promise<void> {
    const existing = await Promise.all(ids.map((id) => this.get(id)));
    const update = Object.fromEntries(existing.filter((m): m is Memory => m !== null).map((m) => [`${m.id}/used_at`, usedAt]));
    if (Object.keys(update).length > 0) await this.timed.within(this.#root().update(update));
  }

  async delete(ids: readonly string[]): Promise<number> {
    const existing = (await Promise.all(ids.map((id) => this.get(id)))).filter((m): m is Memory => m !== null);
    if (existing.length > 0) await this.timed.within(this.#root().update(Object.fromEntries(existing.map((m) => [m.id, null]))));
    return existing.length;
  }

  async deleteAll(scope: MemoryScope): Promise<number> {
    return this.delete((await this.list(scope)).map((m) => m.id));
  }

  #root() {
    return this.timed.db.ref('memories');
  }
}
