import type { NewMessage, StoredMessage } from '../chat/types.js';

/** An exchange's messages as stored with seqs firstSeq, firstSeq + 1, …: what every store's appendExchange answers. */
export function appendedMessages(messages: readonly NewMessage[], firstSeq: number): StoredMessage[] {
  return messages.map((m, i) => ({ ...m, seq: firstSeq + i, idempotencyKey: m.idempotencyKey ?? null, usage: m.usage ?? null }));
}
