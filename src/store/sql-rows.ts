import type { Session, StoredMessage } from '../chat/types.js';
import type {
  Connection,
  ConnectionMessage,
  ConnectionStatus,
  ConnectionSummary,
  PushTarget,
  StoredPushTarget,
} from '../people/types.js';

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
  /** The active leaf's seq; 0 while the session has no message. */
  active_seq: number;
  prompt_tokens: number;
  completion_tokens: number;
  title: string | null;
  summary: string | null;
  /** The last message the summary covers; 0 while there is none. */
  summary_seq: number;
  memory_tokens: number | string;
}

/** A messages row, the same columns in every SQL store. */
export interface MessageRow {
  seq: number;
  /** The message this one follows in the session's tree; null for a first message. */
  parent_seq: number | null;
  role: 'user' | 'assistant';
  content: string;
  tokens: number;
  created_at: Stamp;
  idempotency_key: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  /** User messages on the path from the first message down to this one: a leaf's message count. */
  exchange_no: number;
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
    activeSeq: row.active_seq === 0 ? null : row.active_seq,
    usage: { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens },
    memoryTokens: Number(row.memory_tokens ?? 0),
    title: row.title ?? null,
    summary: row.summary == null ? null : { text: row.summary, throughSeq: row.summary_seq },
  };
}

export function messageFromRow(row: MessageRow): StoredMessage {
  return {
    seq: row.seq,
    parentSeq: row.parent_seq,
    role: row.role,
    content: row.content,
    tokens: row.tokens,
    createdAt: iso(row.created_at),
    idempotencyKey: row.idempotency_key,
    usage: row.prompt_tokens === null ? null : { promptTokens: row.prompt_tokens, completionTokens: row.completion_tokens ?? 0 },
  };
}

/** A connections row, the same columns in every SQL store. */
export interface ConnectionRow {
  id: string;
  user1_id: string;
  user2_id: string;
  status: ConnectionStatus;
  created_at: Stamp;
  ended_at: Stamp | null;
  last_activity: Stamp;
  last_seq: number;
  user1_read_up_to: number;
  user2_read_up_to: number;
}

/** A connection_messages row. */
export interface ConnectionMessageRow {
  connection_id: string;
  seq: number;
  id: string;
  sender_id: string;
  content: string;
  timestamp: Stamp;
}

/** A connection joined with its newest message (all null before the first message). */
export interface ConnectionSummaryRow extends ConnectionRow {
  message_id: string | null;
  message_sender_id: string | null;
  message_content: string | null;
  message_timestamp: Stamp | null;
}

/** A push_targets row: the target is JSON text in SQLite, already parsed JSONB in PostgreSQL. */
export interface PushTargetRow {
  user_id: string;
  id: string;
  target: string | PushTarget;
  created_at: Stamp;
}

/** The pair_low/pair_high columns: the two users sorted, so either order of one pair is the same key. */
export function pairColumns(connection: Pick<Connection, 'user1Id' | 'user2Id'>): { pairLow: string; pairHigh: string } {
  const { user1Id: a, user2Id: b } = connection;
  return a <= b ? { pairLow: a, pairHigh: b } : { pairLow: b, pairHigh: a };
}

export function connectionFromRow(row: ConnectionRow): Connection {
  return {
    id: row.id,
    user1Id: row.user1_id,
    user2Id: row.user2_id,
    status: row.status,
    createdAt: iso(row.created_at),
    endedAt: row.ended_at === null ? null : iso(row.ended_at),
    lastActivity: iso(row.last_activity),
    lastSeq: row.last_seq,
    user1ReadUpTo: row.user1_read_up_to,
    user2ReadUpTo: row.user2_read_up_to,
  };
}

export function connectionMessageFromRow(row: ConnectionMessageRow): ConnectionMessage {
  return {
    connectionId: row.connection_id,
    seq: row.seq,
    id: row.id,
    senderId: row.sender_id,
    content: row.content,
    timestamp: iso(row.timestamp),
  };
}

export function connectionSummaryFromRow(row: ConnectionSummaryRow): ConnectionSummary {
  const lastMessage: ConnectionMessage | null =
    row.message_id === null
      ? null
      : {
          connectionId: row.id,
          seq: row.last_seq,
          id: row.message_id,
          senderId: row.message_sender_id!,
          content: row.message_content!,
          timestamp: iso(row.message_timestamp!),
        };
  return { connection: connectionFromRow(row), lastMessage };
}

export function pushTargetFromRow(row: PushTargetRow): StoredPushTarget {
  return {
    id: row.id,
    userId: row.user_id,
    target: typeof row.target === 'string' ? (JSON.parse(row.target) as PushTarget) : row.target,
    createdAt: iso(row.created_at),
  };
}
