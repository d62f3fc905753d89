import type { NewMessage, StoredMessage } from '../chat/types.js';

/**
 * An exchange's messages as stored with seqs firstSeq, firstSeq + 1, …, as a chain whose first
 * follows `parentSeq`: what every store's appendExchange answers.
 */
export function appendedMessages(messages: readonly NewMessage[], firstSeq: number, parentSeq: number | null): StoredMessage[] {
  return messages.map((m, i) => ({
    ...m,
    seq: firstSeq + i,
    parentSeq: i === 0 ? parentSeq : firstSeq + i - 1,
    idempotencyKey: m.idempotencyKey ?? null,
    usage: m.usage ?? null,
  }));
}
