import type { Role } from './types.js';

export interface ContextMessage {
  role: Role;
  content: string;
  tokens: number;
  /** Where it is stored, once it is: its seq and its parent's (rolling summaries need them). */
  seq?: number | undefined;
  parentSeq?: number | null | undefined;
}

export interface ContextLimits {
  /** Budget for the whole prompt: system prompt plus the chosen messages. */
  maxTokens: number;
  /** Most conversation messages sent, the new user message included. */
  maxMessages: number;
}

/** Chat formats wrap each message in a few tokens of framing (role, separators). */
export const MESSAGE_FRAMING_TOKENS = 4;

export function promptTokens(message: { tokens: number }): number {
  return message.tokens + MESSAGE_FRAMING_TOKENS;
}

/**
 * Chooses the conversation the model sees: the new user message always, preceded by the newest
 * history messages that fit both limits, in order, never starting on an assistant turn (a reply
 * without its question confuses models). Cost is proportional to what is chosen, not to history.
 */
export function selectContext(
  history: readonly ContextMessage[],
  next: ContextMessage,
  systemPromptTokens: number,
  limits: ContextLimits,
): ContextMessage[] {
  let budget = limits.maxTokens - systemPromptTokens - promptTokens(next);
  let start = history.length;
  const oldestAllowed = Math.max(0, history.length - (limits.maxMessages - 1));
  while (start > oldestAllowed) {
    const cost = promptTokens(history[start - 1]!);
    if (cost > budget) break;
    budget -= cost;
    start -= 1;
  }
  while (start < history.length && history[start]!.role === 'assistant') start += 1;
  const chosen = history.slice(start);
  chosen.push(next);
  return chosen;
}
