import type { Database, Statement } from 'better-sqlite3';
import type { Memory, MemoryScope, MemoryStore } from '../../chat/memory-store.js';
import { memoryFromRow, type MemoryRow } from '../memory-rows.js';

/** The memory writes, as data for the writer thread (see writes.ts). */
export type MemoryWriteOp =
  | { kind: 'insertMemory'; memory: Memory }
  | { kind: 'updateMemory'; id: string; text: string; updatedAt: string }
  | { kind: 'touchMemories'; ids: readonly string[]; usedAt: string }
  | { kind: 'deleteMemories'; ids: readonly string[] }
  | { kind: 'deleteAllMemories'; scope: MemoryScope };

const SCOPE = '(user_id = @userId AND (@personalityId IS NULL OR personality_id = @personalityId OR personality_id IS NULL))';
const scopeParams = (scope: MemoryScope) => ({ userId: scope.userId, personalityId: scope.personalityId ?? null });

export function prepareMemoryWrites(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    insert: s(`INSERT INTO memories (id, user_id, personality_id, text, source_session_id, created_at, updated_at, used_at)
      VALUES (@id, @userId, @personalityId, @text, @sourceSessionId, @createdAt, @updatedAt, @usedAt)`),
    update: s('UPDATE memories SET text = ?, updated_at = ?, used_at = ? WHERE id = ? RETURNING *'),
    touch: s('UPDATE memories SET used_at = ? WHERE id IN (SELECT value FROM json_each(?))'),
    delete: s('DELETE FROM memories WHERE id IN (SELECT value FROM json_each(?))'),
    deleteAll: s(`DELETE FROM memories WHERE ${SCOPE}`),
  };
}

export function isMemoryWrite(op: { kind: string }): op is MemoryWriteOp {
  return ['insertMemory', 'updateMemory', 'touchMemories', 'deleteMemories', 'deleteAllMemories'].includes(op.kind);
}

export function applyMemoryWrite(sql: ReturnType<typeof prepareMemoryWrites>, op: MemoryWriteOp): unknown {
  switch (op.kind) {
    case 'insertMemory':
      sql.insert.run(op.memory);
      return undefined;
    case 'updateMemory':
      return (sql.update.get(op.text, op.updatedAt, op.updatedAt, op.id) as MemoryRow | undefined) ?? null;
    case 'touchMemories':
      sql.touch.run(op.usedAt, JSON.stringify(op.ids));
      return undefined;
    case 'deleteMemories':
      return sql.delete.run(JSON.stringify(op.ids)).changes;
    case 'deleteAllMemories':
      return sql.deleteAll.run(scopeParams(op.scope)).changes;
  }
}

/** SQLite's memories: reads here, writes through the store's writer. */
export class SqliteMemories implements MemoryStore {
  readonly #list: Statement;
  readonly #get: Statement;

  constructor(
    db: Database,
    private readonly write: <T>(op: MemoryWriteOp) => Promise<T>,
  ) {
    this.#list = db.prepare(`SELECT * FROM memories WHERE ${SCOPE} ORDER BY updated_at DESC, id`);
    this.#get = db.prepare('SELECT * FROM memories WHERE id = ?');
  }

  async list(scope: MemoryScope): Promise<Memory[]> {
    return (this.#list.all(scopeParams(scope)) as MemoryRow[]).map(memoryFromRow);
  }

  async get(id: string): Promise<Memory | null> {
    const row = this.#get.get(id) as MemoryRow | undefined;
    return row ? memoryFromRow(row) : null;
  }

  async insert(memory: Memory): Promise<void> {
    await this.write({ kind: 'insertMemory', memory });
  }

  async update(id: string, text: string, updatedAt: string): Promise<Memory | null> {
    const row = await this.write<MemoryRow | null>({ kind: 'updateMemory', id, text, updatedAt });
    return row ? memoryFromRow(row) : null;
  }

  async touch(ids: readonly string[], usedAt: string): Promise<void> {
    if (ids.length > 0) await this.write({ kind: 'touchMemories', ids, usedAt });
  }

  delete(ids: readonly string[]): Promise<number> {
    return ids.length === 0 ? Promise.resolve(0) : this.write<number>({ kind: 'deleteMemories', ids });
  }

  deleteAll(scope: MemoryScope): Promise<number> {
    return this.write<number>({ kind: 'deleteAllMemories', scope });
  }
}
