import type { SessionView } from '../chat/session-types.js';
import type { Session, StoredMessage, TokenUsage } from '../chat/types.js';

/** How sessions and messages look on the wire: the original Chatify's fields, plus what this service adds. */

/** A message's id: its seq, in decimal. */
export const messageId = (seq: number): string => String(seq);

/** The six keys the original Chatify always answers, plus a call's message or reply. */
export function chatReply(session: Session, extra: { message?: string; response?: string }) {
  return {
    success: true as const,
    message: extra.message ?? null,
    error: null,
    session_id: session.id,
    response: extra.response ?? null,
    message_count: session.messageCount,
  };
}

export function sessionJson(session: Session) {
  return {
    session_id: session.id,
    user_id: session.userId,
    template_id: session.templateId,
    status: session.status,
    created_at: session.createdAt,
    last_activity: session.lastActivity,
    ended_at: session.endedAt,
    message_count: session.messageCount,
    usage: usageJson(session.usage, session.memoryTokens),
    title: session.title,
  };
}

export function sessionDetail({ session, messages, siblings, hasMore, summary }: SessionView) {
  return {
    ...chatReply(session, {}),
    ...sessionJson(session),
    conversation_history: messages.map((m) => ({
      seq: m.seq,
      ...treeMessageJson(m),
      sibling_ids: (siblings.get(m.parentSeq) ?? [m.seq]).map(messageId),
      usage: m.usage ? { prompt_tokens: m.usage.promptTokens, completion_tokens: m.usage.completionTokens } : null,
    })),
    has_more: hasMore,
    next_before: hasMore ? (messages[0]?.seq ?? null) : null,
    summary,
  };
}

/** A message as the tree shows it: where it hangs, who said what, when. */
export function treeMessageJson(m: StoredMessage) {
  return {
    id: messageId(m.seq),
    parent_id: m.parentSeq === null ? null : messageId(m.parentSeq),
    role: m.role,
    content: m.content,
    timestamp: m.createdAt,
  };
}

/** Replies' tokens, and apart what housekeeping (titles, summaries, memories) used; the total counts both. */
export function usageJson(usage: TokenUsage, memoryTokens: number) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    memory_tokens: memoryTokens,
    total_tokens: usage.promptTokens + usage.completionTokens + memoryTokens,
  };
}
