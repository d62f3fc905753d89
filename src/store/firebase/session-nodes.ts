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
}
export const SESSION_FIELDS = [
  'user_id', 'template_id', 'system_prompt', 'status', 'created_at', 'last_activity', 'ended_at', 'message_count',
  'prompt_tokens', 'completion_tokens', 'title',
] as const;

export interface MessageNode {
  role: 'user' | 'assistant';
  content: string;
  tokens: number;
  timestamp: string;
  idempotency_key?: string;
  prompt_tokens?: number;
  completion_tokens?: number;
}

export function withoutOrder(p: Personality & { _order?: number }): Personality {
  const { _order, ...personality } = p;
  return { ...personality, tags: personality.tags ?? [] };
}

export function toSession(id: string, node: SessionNode): Session {
  return {
    id,
    userId: node.user_id,
    templateId: node.template_id,
    systemPrompt: node.system_prompt,
    status: node.status,
    createdAt: node.created_at,
    lastActivity: node.last_activity,
    endedAt: node.ended_at ?? null,
    messageCount: node.message_count ?? 0,
    usage: { promptTokens: node.prompt_tokens ?? 0, completionTokens: node.completion_tokens ?? 0 },
    title: node.title ?? null,
  };
}

export function toMessage(key: string, m: MessageNode): StoredMessage {
  return {
    seq: Number(key),
    role: m.role,
    content: m.content,
    tokens: m.tokens ?? 0,
    createdAt: m.timestamp,
    idempotencyKey: m.idempotency_key ?? null,
    usage: m.prompt_tokens === undefined ? null : { promptTokens: m.prompt_tokens, completionTokens: m.completion_tokens ?? 0 },
  };
}

export function toMessageNode(m: StoredMessage): MessageNode {
  return {
    role: m.role,
    content: m.content,
    tokens: m.tokens,
    timestamp: m.createdAt,
    ...(m.idempotencyKey ? { idempotency_key: m.idempotencyKey } : {}),
    ...(m.usage ? { prompt_tokens: m.usage.promptTokens, completion_tokens: m.usage.completionTokens } : {}),
  };
}
