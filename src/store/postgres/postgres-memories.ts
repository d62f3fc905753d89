import type { QueryResult, QueryResultRow } from 'pg';
import type { Memory, MemoryScope, MemoryStore } from '../../chat/memory-store.js';
import { IN_SCOPE, memoryFromRow, type MemoryRow } from '../memory-rows.js';

type Query = <R extends QueryResultRow>(text: string, values?: unknown[]) => Promise<QueryResult<R>>;

/** PostgreSQL's memories, one statement per call. */
export class PostgresMemories implements MemoryStore {
  constructor(private readonly query: Query) {}

  async list(scope: MemoryScope): Promise<Memory[]> {
    const { rows } = await this.query<MemoryRow>(`SELECT * FROM memories WHERE ${IN_SCOPE} ORDER BY updated_at DESC, id`, [
      scope.userId,
      scope.personalityId ?? null,
    ]);
    return rows.map(memoryFromRow);
  }

  async get(id: string): Promise<Memory | null> {
    const { rows } = await this.query<MemoryRow>('SELECT * FROM memories WHERE id = $1', [id]);
    return rows[0] ? memoryFromRow(rows[0]) : null;
  }

  async insert(m: Memory): Promise<void> {
    await this.query(
      `INSERT INTO memories (id, user_id, personality_id, text, source_session_id, created_at, updated_at, used_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [m.id, m.userId, m.personalityId, m.text, m.sourceSessionId, m.createdAt, m.updatedAt, m.usedAt],
    );
  }

  async update(id: string, text: string, updatedAt: string): Promise<Memory | null> {
    const { rows } = await this.query<MemoryRow>('UPDATE memories SET text = $2, updated_at = $3, used_at = $3 WHERE id = $1 RETURNING *', [
      id,
      text,
      updatedAt,
    ]);
    return rows[0] ? memoryFromRow(rows[0]) : null;
  }

  async touch(ids: readonly string[], usedAt: string): Promise<void> {
    if (ids.length > 0) await this.query('UPDATE memories SET used_at = $2 WHERE id = ANY($1::text[])', [ids, usedAt]);
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return (await this.query('DELETE FROM memories WHERE id = ANY($1::text[])', [ids])).rowCount ?? 0;
  }

  async deleteAll(scope: MemoryScope): Promise<number> {
    return (await this.query(`DELETE FROM memories WHERE ${IN_SCOPE}`, [scope.userId, scope.personalityId ?? null])).rowCount ?? 0;
  }
}
