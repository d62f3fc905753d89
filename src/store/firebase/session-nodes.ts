import type { Personality, Session, StoredMessage } from '../../chat/types.js';

/** How sessions, their messages and personalities are laid out in Firebase (the seed's fields), and back. */

/** The seed's session fields, stored flat under userSessions/{id}, as the original did. */
export interface SessionNode {
  user_id: string;
  template_id: string;
  system_prompt: string;
  status: 'active' | 'ended';
  created_at: string;
  last_activity: string;
  ended_at?: string;
  message_count: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  title?: string;
  summary?: string;
  summary_seq?: number;
  memory_tokens?: number;
}
export const SESSION_FIELDS = [
  'user_id', 'template_id', 'system_prompt', 'status', 'created_at', 'last_activity', 'ended_at', 'message_count',
  'prompt_tokens', 'completion_tokens', 'title', 'summary', 'summary_seq', 'memory_tokens',
] as const;

export interface MessageNode {
  role: 'user' | 'assistant';
  content: string;
  tokens: number;
  timestamp: string;
  idempotency_key?: string;
  prompt_tokens?: number;
  completion_tokens?: number;
  /** The message this one follows; absent on a first message (and on every message stored before the tree). */
  parent_seq?: number;
  /** User messages on the path down to this one, itself included: the session's count when it is the active leaf. */
  exchange?: number;
  /** On the first of messages appended together, when they were more than one: how many. */
  batch?: number;
}

/**
 * userSessions/{id}/tree: what appends and selects change together, in one transaction (the session
 * node itself holds the whole history, too much to transact on).
 */
export interface TreeStateNode {
  /** The active leaf; absent while the session has no message. */
  active_seq?: number;
  /** The highest seq handed out (a failed write leaves a hole, which readers skip). */
  last_seq: number;
  /** Exchanges on the active path: the authority for the session's count (the seed's message_count mirrors it). */
  message_count: number;
  /** Sessions stored before the tree: its messages up to here are a line, parent = the message before. */
  legacy_seq?: number;
}

/** Every message written since the tree carries its exchange number; those without one are a line. */
export const isLegacy = (m: MessageNode): boolean => m.exchange === undefined;

/** A message's exchange number; on a line stored before the tree, two messages per exchange. */
export const exchangeOf = (seq: number, m: MessageNode): number => m.exchange ?? Math.ceil(seq / 2);

export function withoutOrder(p: Personality & { _order?: number }): Personality {
  const { _order, ...personality } = p;
  return { ...personality, tags: personality.tags ?? [] };
}

/** A session from its fields, its count and active leaf from its tree state. */
export function toSession(id: string, node: SessionNode, tree: TreeStateNode): Session {
  return {
    id,
    userId: node.user_id,
    templateId: node.template_id,
    systemPrompt: node.system_prompt,
    status: node.status,
    createdAt: node.created_at,
    lastActivity: node.last_activity,
    endedAt: node.ended_at ?? null,
    messageCount: tree.message_count,
    activeSeq: tree.active_seq ?? null,
    usage: { promptTokens: node.prompt_tokens ?? 0, completionTokens: node.completion_tokens ?? 0 },
    memoryTokens: node.memory_tokens ?? 0,
    title: node.title ?? null,
    summary: node.summary == null ? null : { text: node.summary, throughSeq: node.summary_seq ?? 0 },
  };
}

export function toMessage(key: string, m: MessageNode, parentSeq: number | null): StoredMessage {
  return {
    seq: Number(key),
    parentSeq,
    role: m.role,
    content: m.content,
    tokens: m.tokens ?? 0,
    createdAt: m.timestamp,
    idempotencyKey: m.idempotency_key ?? null,
    usage: m.prompt_tokens === undefined ? null : { promptTokens: m.prompt_tokens, completionTokens: m.completion_tokens ?? 0 },
  };
}

export function toMessageNode(m: StoredMessage, exchange: number, batch: number): MessageNode {
  return {
    role: m.role,
    content: m.content,
    tokens: m.tokens,
    timestamp: m.createdAt,
    ...(m.idempotencyKey ? { idempotency_key: m.idempotencyKey } : {}),
    ...(m.usage ? { prompt_tokens: m.usage.promptTokens, completion_tokens: m.usage.completionTokens } : {}),
    ...(m.parentSeq !== null ? { parent_seq: m.parentSeq } : {}),
    exchange,
    ...(batch > 1 ? { batch } : {}),
  };
}
