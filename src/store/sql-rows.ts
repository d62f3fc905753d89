import type { Session, StoredMessage } from '../chat/types.js';

/** A timestamp as a SQL driver returns it: text (SQLite) or a Date (PostgreSQL). */
type Stamp = string | Date;

/** A sessions row, the same columns in every SQL store. */
export interface SessionRow {
  seq: number | string;
  id: string;
  user_id: string;
  template_id: string;
  system_prompt: string;
  status: 'active' | 'ended';
  created_at: Stamp;
  last_activity: Stamp;
  ended_at: Stamp | null;
  message_count: number;
  prompt_tokens: number;
  completion_tokens: number;
}

/** A messages row, the same columns in every SQL store. */
export interface MessageRow {
  seq: number;
  role: 'user' | 'assistant';
  content: string;
  tokens: number;
  created_at: Stamp;
  idempotency_key: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}

const iso = (stamp: Stamp) => (typeof stamp === 'string' ? stamp : stamp.toISOString());

export function sessionFromRow(row: SessionRow): Session {
  return {
    id: row.id,
    userId: row.user_id,
    templateId: row.template_id,
    systemPrompt: row.system_prompt,
    status: row.status,
    createdAt: iso(row.created_at),
    lastActivity: iso(row.last_activity),
    endedAt: row.ended_at === null ? null : iso(row.ended_at),
    messageCount: row.message_count,
    usage: { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens },
  };
}

export function messageFromRow(row: MessageRow): StoredMessage {
  return {
    seq: row.seq,
    role: row.role,
    content: row.content,
    tokens: row.tokens,
    createdAt: iso(row.created_at),
    idempotencyKey: row.idempotency_key,
    usage: row.prompt_tokens === null ? null : { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens ?? 0 },
  };
}
