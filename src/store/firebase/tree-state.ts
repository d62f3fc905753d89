import type { Reference } from 'firebase-admin/database';
import { messageKey, type TimedDatabase } from './firebase-access.js';
import type { MessageNode, TreeStateNode } from './session-nodes.js';

/**
 * A session's tree state (userSessions/{id}/tree, see TreeStateNode), and the neighbours of messages
 * stored before the tree, whose parents were never written: on read, such a message follows the one
 * stored before it (the previous seq, or the one before a hole a failed write left).
 */
export class TreeStates {
  constructor(private readonly timed: TimedDatabase) {}

  ref(sessionId: string): Reference {
    return this.timed.db.ref(`userSessions/${sessionId}/tree`);
  }

  history(sessionId: string): Reference {
    return this.timed.db.ref(`userSessions/${sessionId}/conversation_history`);
  }

  /** The stored state, or for a session stored before the tree the one its line implies. */
  async read(sessionId: string): Promise<TreeStateNode> {
    const stored = (await this.timed.read(this.ref(sessionId))) as TreeStateNode | null;
    return stored ?? this.#fromLine(sessionId);
  }

  /** The message stored last at or below `seq` (null seq: of all; null: none), as [seq, node]. */
  async atOrBelow(sessionId: string, seq: number | null): Promise<[number, MessageNode] | null> {
    if (seq !== null && seq < 1) return null;
    const byKey = this.history(sessionId).orderByKey();
    return first(await this.timed.read((seq === null ? byKey : byKey.endAt(messageKey(seq))).limitToLast(1)));
  }

  /** The first message stored above `seq` (null: none), as [seq, node]. */
  async above(sessionId: string, seq: number): Promise<[number, MessageNode] | null> {
    return first(await this.timed.read(this.history(sessionId).orderByKey().startAt(messageKey(seq + 1)).limitToFirst(1)));
  }

  /**
   * A session stored before the tree: its messages are a line whose end is the active leaf, and its
   * count numbered every exchange it handed out (two seqs each), stored or not.
   */
  async #fromLine(sessionId: string): Promise<TreeStateNode> {
    const [count, last] = await Promise.all([
      this.timed.read(this.timed.db.ref(`userSessions/${sessionId}/message_count`)) as Promise<number | null>,
      this.atOrBelow(sessionId, null),
    ]);
    const messageCount = count ?? 0;
    const lastSeq = last?.[0];
    return {
      last_seq: Math.max(2 * messageCount, lastSeq ?? 0),
      message_count: messageCount,
      ...(lastSeq !== undefined ? { active_seq: lastSeq, legacy_seq: lastSeq } : {}),
    };
  }
}

function first(found: unknown): [number, MessageNode] | null {
  const nodes = (found ?? {}) as Record<string, MessageNode>;
  const key = Object.keys(nodes)[0];
  return key === undefined ? null : [Number(key), nodes[key]!];
}
