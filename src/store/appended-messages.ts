import type { NewMessage, StoredMessage } from '../chat/types.js';

/**
 * An append's messages as stored with seqs firstSeq, firstSeq + 1, …, as a chain below `parentSeq`:
 * what every store's appendExchange answers.
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

/** The exchange number (user messages on the path) of each message of an append whose parent has `parentExchange`. */
export function exchangeNumbers(messages: readonly NewMessage[], parentExchange: number): number[] {
  let exchange = parentExchange;
  return messages.map((m) => (m.role === 'user' ? ++exchange : exchange));
}

/** The exchange number of each message of a whole tree, given in seq order (parents first). */
export function treeExchangeNumbers(messages: readonly StoredMessage[]): number[] {
  const bySeq = new Map<number, number>();
  return messages.map((m) => {
    const exchange = (m.parentSeq === null ? 0 : (bySeq.get(m.parentSeq) ?? 0)) + (m.role === 'user' ? 1 : 0);
    bySeq.set(m.seq, exchange);
    return exchange;
  });
}
