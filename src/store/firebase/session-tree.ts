import type { StoredMessage } from '../../chat/types.js';
import { messageKey, type TimedDatabase } from './firebase-access.js';
import { isLegacy, toMessage, type MessageNode } from './session-nodes.js';
import type { TreeStates } from './tree-state.js';

/** Children-index entries read per step when descending a path. */
const DESCENT_WINDOW = 50;

/** The key of a parent's entry in the children index: the seq, or 0 for the first messages. */
export const parentKey = (parentSeq: number | null) => messageKey(parentSeq ?? 0);

/**
 * Reads of a session's message tree. Each message stores its parent's seq, and
 * userSessions/{id}/children/{parent}/{seq} indexes children (written with the messages), so a path
 * is walked up through windows of consecutive seqs (on a line, one read), and down through windows
 * of the index; neither ever reads the whole conversation.
 */
export class SessionTree {
  constructor(
    private readonly timed: TimedDatabase,
    private readonly states: TreeStates,
  ) {}

  /** The newest `limit` messages with seq below `before` on the path from the first message to `leaf`, oldest first. */
  async path(sessionId: string, leaf: number, limit: number, before?: number): Promise<StoredMessage[]> {
    const history = this.states.history(sessionId);
    let window = new Map<number, MessageNode>();
    let low = Infinity; // the window holds every message with seq in [low, the cursor it was read at]
    const out: StoredMessage[] = [];
    /** A parent named by its seq (exact), or the message stored last at or below a seq (a line stored before the tree). */
    let cursor: { seq: number; exact: boolean } | null = { seq: leaf, exact: true };
    let awaiting: StoredMessage | null = null; // a message of such a line, whose parent is the next one found
    while (cursor && (out.length < limit || awaiting)) {
      if (cursor.seq < low) {
        // Enough for the rest of the page if the path is a line from here: skipped messages, then the page, then a parent.
        const skipped = before !== undefined && cursor.seq >= before ? cursor.seq - before + 1 : 0;
        const size = skipped + limit - out.length + 1;
        const nodes = ((await this.timed.read(history.orderByKey().endAt(messageKey(cursor.seq)).limitToLast(size))) ?? {}) as Record<
          string,
          MessageNode
        >;
        window = new Map(Object.entries(nodes).map(([key, node]) => [Number(key), node]));
        low = window.size < size ? 0 : Math.min(...window.keys());
      }
      const seq: number | undefined = cursor.exact ? (window.has(cursor.seq) ? cursor.seq : undefined) : maxAtOrBelow(window, cursor.seq);
      if (awaiting) {
        awaiting.parentSeq = seq ?? null;
        awaiting = null;
      }
      if (seq === undefined || out.length === limit) break;
      const node: MessageNode = window.get(seq)!;
      const legacy = isLegacy(node);
      const message = toMessage(messageKey(seq), node, legacy ? null : (node.parent_seq ?? null));
      if (before === undefined || seq < before) {
        out.push(message);
        if (legacy && seq > 1) awaiting = message;
      }
      if (legacy) cursor = seq > 1 ? { seq: seq - 1, exact: false } : null;
      else cursor = node.parent_seq !== undefined ? { seq: node.parent_seq, exact: true } : null;
    }
    return out.reverse();
  }

  /** Every message with seq above `after`, in seq order, at most `limit`. */
  async page(sessionId: string, limit: number, after = 0): Promise<StoredMessage[]> {
    const history = this.states.history(sessionId);
    const nodes = ((await this.timed.read(history.orderByKey().startAt(messageKey(after + 1)).limitToFirst(limit))) ?? {}) as Record<
      string,
      MessageNode
    >;
    const seqs = Object.keys(nodes).map(Number).sort((a, b) => a - b);
    return Promise.all(
      seqs.map(async (seq, i) => {
        const node = nodes[messageKey(seq)]!;
        if (!isLegacy(node)) return toMessage(messageKey(seq), node, node.parent_seq ?? null);
        // A line stored before the tree: the message stored before this one.
        const before = i > 0 ? seqs[i - 1]! : ((await this.states.atOrBelow(sessionId, seq - 1))?.[0] ?? null);
        return toMessage(messageKey(seq), node, before);
      }),
    );
  }

  /** The children of each parent, oldest first: those in the index, after the next message of a line stored before the tree. */
  async childrenOf(sessionId: string, parents: readonly (number | null)[], legacySeq?: number): Promise<Map<number | null, number[]>> {
    const found = await Promise.all(
      parents.map(async (parent) => {
        const indexed = (await this.timed.read(this.#children(sessionId).child(parentKey(parent)))) as Record<string, true> | null;
        const children = Object.keys(indexed ?? {}).map(Number).sort((a, b) => a - b);
        if (legacySeq !== undefined && (parent ?? 0) < legacySeq) {
          const next = await this.states.above(sessionId, parent ?? 0);
          if (next && next[0] <= legacySeq) children.unshift(next[0]);
        }
        return [parent, children] as const;
      }),
    );
    return new Map(found);
  }

  /** The leaf reached from `seq` going down the newest child at each step. */
  async newestLeafBelow(sessionId: string, seq: number, legacySeq?: number): Promise<number> {
    let index: Record<string, Record<string, true>> = {};
    let low = Infinity; // the index window holds every parent's entry in [low, high]
    let high = -Infinity;
    let cur = seq;
    for (;;) {
      if (cur < low || cur > high) {
        const query = this.#children(sessionId).orderByKey().startAt(messageKey(cur)).limitToFirst(DESCENT_WINDOW);
        index = ((await this.timed.read(query)) ?? {}) as Record<string, Record<string, true>>;
        const keys = Object.keys(index).map(Number);
        low = cur;
        high = keys.length < DESCENT_WINDOW ? Infinity : Math.max(...keys);
      }
      if (legacySeq !== undefined && cur <= legacySeq) {
        // A line stored before the tree: down it to the first of its messages that has indexed children (newer than the line).
        const branching = Object.keys(index).map(Number).filter((key) => key >= cur).sort((a, b) => a - b)[0];
        if (branching === undefined || branching > legacySeq) return legacySeq;
        cur = newest(index[messageKey(branching)]!);
      } else {
        const children = index[messageKey(cur)];
        if (!children) return cur;
        cur = newest(children);
      }
    }
  }

  #children(sessionId: string) {
    return this.timed.db.ref(`userSessions/${sessionId}/children`);
  }
}

function maxAtOrBelow(window: Map<number, MessageNode>, seq: number): number | undefined {
  let found: number | undefined;
  for (const key of window.keys()) if (key <= seq && (found === undefined || key > found)) found = key;
  return found;
}

const newest = (children: Record<string, true>): number => Math.max(...Object.keys(children).map(Number));
