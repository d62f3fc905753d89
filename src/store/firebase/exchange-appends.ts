import type { NewMessage, StoredMessage } from '../../chat/types.js';
import { appendedMessages } from '../appended-messages.js';
import { exchangeUsage } from '../exchange-usage.js';
import { messageKey, validKey, type TimedDatabase } from './firebase-access.js';
import type { IdempotencyKeys } from './idempotency-keys.js';
import { exchangeOf, isLegacy, toMessage, toMessageNode, type MessageNode, type TreeStateNode } from './session-nodes.js';
import { parentKey, type SessionTree } from './session-tree.js';
import type { TreeStates } from './tree-state.js';

type Appended = { messages: StoredMessage[]; messageCount: number };

/**
 * Appends to a session's tree, finds them again by idempotency key, and moves its active leaf. The
 * tree state (active leaf, last seq, count) is the one value writers race on: a transaction on it
 * hands each append its seqs and parent (and refuses a stale expected leaf); the messages, their
 * children-index entries and their keys then follow in one multi-path update.
 */
export class ExchangeAppends {
  constructor(
    private readonly timed: TimedDatabase,
    private readonly states: TreeStates,
    private readonly tree: SessionTree,
    private readonly keys: IdempotencyKeys,
  ) {}

  async append(
    sessionId: string,
    messages: readonly NewMessage[],
    lastActivity: string,
    expectedLeaf?: number | null,
    parentSeq?: number | null,
  ): Promise<Appended | null> {
    if (!validKey(sessionId) || messages.length === 0) return null;
    const base = `userSessions/${sessionId}`;
    // Independent reads, in one round trip.
    const [status, parentNode, known] = await Promise.all([
      this.timed.read(this.timed.db.ref(`${base}/status`)),
      typeof parentSeq === 'number'
        ? (this.timed.read(this.states.history(sessionId).child(messageKey(parentSeq))) as Promise<MessageNode | null>)
        : null,
      this.states.read(sessionId),
    ]);
    if (status !== 'active') return null;
    // A parent named by the caller must exist; its exchange number starts the new messages' count.
    let named: { seq: number | null; exchange: number } | undefined;
    if (parentSeq === null) named = { seq: null, exchange: 0 };
    else if (parentSeq !== undefined) {
      if (!parentNode) return null;
      named = { seq: parentSeq, exchange: exchangeOf(parentSeq, parentNode) };
    }
    const reserved = await this.keys.reserve(sessionId, messages.map((m) => m.idempotencyKey).filter((k): k is string => !!k));

    // Set by the transaction's last run, the one that commits.
    let before: TreeStateNode = known;
    let parent: number | null = null;
    let exchanges: number[] = [];
    let stored: StoredMessage[];
    try {
      const result = await this.timed.transaction(this.states.ref(sessionId), (current: TreeStateNode | null) => {
        // Null on a first run before the value is fetched (then it runs again), or for a session stored before the tree.
        before = current ?? known;
        if (expectedLeaf !== undefined && (before.active_seq ?? null) !== expectedLeaf) return undefined;
        parent = named ? named.seq : (before.active_seq ?? null);
        let exchange = named ? named.exchange : before.message_count;
        exchanges = messages.map((m) => (exchange += m.role === 'user' ? 1 : 0));
        const last = before.last_seq + messages.length;
        return { ...before, active_seq: last, last_seq: last, message_count: exchange };
      });
      if (!result.committed) {
        await this.keys.release(reserved);
        return null;
      }
      const state = result.snapshot.val() as TreeStateNode;
      stored = appendedMessages(messages, state.last_seq - messages.length + 1, parent);
      const update: Record<string, unknown> = { [`${base}/last_activity`]: lastActivity, [`${base}/message_count`]: state.message_count };
      stored.forEach((m, i) => {
        update[`${base}/conversation_history/${messageKey(m.seq)}`] = toMessageNode(m, exchanges[i]!, i === 0 ? messages.length : 1);
        update[`${base}/children/${parentKey(m.parentSeq)}/${messageKey(m.seq)}`] = true;
        if (m.idempotencyKey) update[this.keys.path(sessionId, m.idempotencyKey)] = m.seq;
      });
      try {
        await this.timed.within(this.timed.db.ref().update(update));
      } catch (error) {
        // Nothing of this append is stored: the active leaf goes back, unless another append has moved it since.
        const last = state.last_seq;
        await this.timed
          // Null only on a first run before the value is fetched: a write of null (a no-op there) makes it fetch and run again.
          .transaction(this.states.ref(sessionId), (now: TreeStateNode | null) =>
            now === null ? null : now.active_seq === last && now.last_seq === last ? restore(now, before) : undefined,
          )
          .catch(() => undefined);
        throw error;
      }
    } catch (error) {
      await this.keys.release(reserved).catch(() => undefined);
      throw error;
    }
    const usage = exchangeUsage(messages);
    for (const [field, amount] of [['prompt_tokens', usage.promptTokens], ['completion_tokens', usage.completionTokens]] as const) {
      if (amount > 0) await this.timed.transaction(this.timed.db.ref(`${base}/${field}`), (n: number | null) => (n ?? 0) + amount);
    }
    return { messages: stored, messageCount: exchanges.at(-1)! };
  }

  /** The messages appended with the one carrying this key, and the count right after them. */
  async find(sessionId: string, idempotencyKey: string): Promise<Appended | null> {
    if (!validKey(sessionId)) return null;
    const held = await this.keys.held(sessionId, idempotencyKey);
    if (held === null) return null;
    const history = this.states.history(sessionId);
    let found: Record<string, MessageNode>;
    if (typeof held === 'number') {
      const node = (await this.timed.read(history.child(messageKey(held)))) as MessageNode | null;
      found = node ? { [messageKey(held)]: node } : {};
    } else {
      // Reserved only: its append is under way, or stored it before keys held their seq. The query
      // is served by the .indexOn in database.rules.json.
      const query = history.orderByChild('idempotency_key').equalTo(idempotencyKey).limitToFirst(1);
      found = ((await this.timed.read(query)) ?? {}) as Record<string, MessageNode>;
    }
    const key = Object.keys(found)[0];
    if (!key) return null;
    const first = Number(key);
    const node = found[key]!;
    if (isLegacy(node)) {
      // Stored before the tree: an exchange was a user message and its reply.
      const [message] = await this.tree.page(sessionId, 1, first - 1);
      const reply = (await this.timed.read(history.child(messageKey(first + 1)))) as MessageNode | null;
      const messages = [message!, ...(reply ? [toMessage(messageKey(first + 1), reply, first)] : [])];
      return { messages, messageCount: Math.ceil(messages.at(-1)!.seq / 2) };
    }
    const rest = await Promise.all(
      Array.from({ length: (node.batch ?? 1) - 1 }, (_, i) => this.timed.read(history.child(messageKey(first + 1 + i))) as Promise<MessageNode | null>),
    );
    const nodes = [node, ...rest.filter((n): n is MessageNode => n !== null)];
    return {
      messages: nodes.map((n, i) => toMessage(messageKey(first + i), n, n.parent_seq ?? null)),
      messageCount: exchangeOf(first + nodes.length - 1, nodes.at(-1)!),
    };
  }

  /** Makes the path through `seq` active, down its newest children; false when the session is not active or has no such message. */
  async select(sessionId: string, seq: number): Promise<boolean> {
    if (!validKey(sessionId) || !Number.isSafeInteger(seq) || seq < 1) return false;
    const base = `userSessions/${sessionId}`;
    if ((await this.timed.read(this.timed.db.ref(`${base}/status`))) !== 'active') return false;
    if ((await this.timed.read(this.states.history(sessionId).child(messageKey(seq)))) === null) return false;
    const known = await this.states.read(sessionId);
    const leaf = await this.tree.newestLeafBelow(sessionId, seq, known.legacy_seq);
    const leafNode = (await this.timed.read(this.states.history(sessionId).child(messageKey(leaf)))) as MessageNode;
    const count = exchangeOf(leaf, leafNode);
    const result = await this.timed.transaction(this.states.ref(sessionId), (current: TreeStateNode | null) => ({
      ...(current ?? known),
      active_seq: leaf,
      message_count: count,
    }));
    if (!result.committed) return false;
    await this.timed.within(this.timed.db.ref(base).update({ message_count: count }));
    return true;
  }
}

/** The tree state `now` with the leaf and count an append changed put back as they were `before` it (the seqs stay used). */
function restore(now: TreeStateNode, before: TreeStateNode): TreeStateNode {
  const { active_seq: _, ...rest } = now;
  return { ...rest, message_count: before.message_count, ...(before.active_seq !== undefined ? { active_seq: before.active_seq } : {}) };
}
