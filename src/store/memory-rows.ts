import type { Memory } from '../chat/memory-store.js';

/** A memories row, the same columns in every SQL store (times are text in SQLite, Dates in PostgreSQL). */
export interface MemoryRow {
  id: string;
  user_id: string;
  personality_id: string | null;
  text: string;
  source_session_id: string | null;
  created_at: string | Date;
  updated_at: string | Date;
  used_at: string | Date;
}

const iso = (stamp: string | Date) => (typeof stamp === 'string' ? stamp : stamp.toISOString());

export function memoryFromRow(row: MemoryRow): Memory {
  return {
    id: row.id,
    userId: row.user_id,
    personalityId: row.personality_id,
    text: row.text,
    sourceSessionId: row.source_session_id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    usedAt: iso(row.used_at),
  };
}

/** The rows in scope: a user's, and with a personality only its own and every personality's ones. */
export const IN_SCOPE = '(user_id = $1 AND ($2::text IS NULL OR personality_id = $2 OR personality_id IS NULL))';
