import type { NewMessage, TokenUsage } from '../chat/types.js';

/** The token usage an exchange adds to its session's totals. */
export function exchangeUsage(messages: readonly NewMessage[]): TokenUsage {
  let promptTokens = 0;
  let completionTokens = 0;
  for (const m of messages) {
    promptTokens += m.usage?.promptTokens ?? 0;
    completionTokens += m.usage?.completionTokens ?? 0;
  }
  return { promptTokens, completionTokens };
}
