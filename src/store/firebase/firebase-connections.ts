import type { DataSnapshot, Reference } from 'firebase-admin/database';
import { randomUUID } from 'node:crypto';
import type { ConnectionStore, ConnectionListOptions } from '../../people/connection-store.js';
import type { Connection, ConnectionMessage, ConnectionSummary, NewConnectionMessage, StoredPushTarget } from '../../people/types.js';
import {
  byActivityNewestFirst,
  compare,
  toConnection,
  toMessage,
  toMessageNode,
  toNode,
  type ConnectionNode,
  type MessageNode,
  type PushTargetNode,
} from './connection-nodes.js';
import { messageKey, userKey, validKey, type TimedDatabase, type TransactionResult } from './firebase-access.js';

/** How often createConnection takes over a pair key left behind by an ended connection before giving up. */
const PAIR_ATTEMPTS = 5;
/** connectionIdempotency/{id}/{key}: the claim of the append using it (a string), then its message's seq. */
type KeyHolder = string | number;

/**
 * The pair's key: both users sorted and encoded, joined by "%20", which encoding never produces
 * (a literal "%" becomes "%25"), so no two pairs share a key.
 */
const pairKey = (a: string, b: string) => (a <= b ? [a, b] : [b, a]).map(userKey).join('%20');

/**
 * User-to-user chat on Firebase Realtime Database:
 * - connections/{id}: the connection's fields; every change to them is a transaction on this node.
 * - connectionMessages/{id}/{zero-padded seq}: one child per message.
 * - userConnections/{user}/{id}: true lists a user's connections (both sides).
 * - connectionPairs/{pair}: the id of the pair's active connection, taken by transaction, so a pair
 *   has one active connection at most; ending a connection frees it.
 * - connectionIdempotency/{id}/{key}: the seq of the message sent with that key.
 * - pushTargets/{user}/{target id}: where to notify the user; pushTargetOwners/{target id}: the one
 *   user a device belongs to (registering it for another moves it).
 * Keys made of user ids and idempotency keys are encoded (userKey).
 */
export class FirebaseConnections implements ConnectionStore {
  constructor(private readonly timed: TimedDatabase) {}

  async createConnection(c: Connection): Promise<{ connection: Connection; created: boolean }> {
    if (!validKey(c.id)) throw new Error(`A connection id cannot be "${c.id}": it must be a Firebase key`);
    const ref = this.#ref(`connections/${c.id}`);
    // Written before the pair is claimed, so a claim always names a connection that exists; nobody
    // finds this one until it is listed in userConnections below.
    const placed = await this.#transact(ref, (current: unknown) => (current === null ? toNode(c) : undefined));
    if (!placed.committed) throw new Error(`Connection ${c.id} already exists`);
    if (c.status === 'active') {
      const holder = await this.#claimPair(c);
      if (holder) {
        await this.#write(ref.remove());
        await this.#list(holder); // in case its own creation stopped before listing it
        return { connection: holder, created: false };
      }
    }
    await this.#list(c);
    return { connection: c, created: true };
  }

  /** Takes the pair for `c`; returns the pair's other active connection instead when there is one. */
  async #claimPair(c: Connection): Promise<Connection | null> {
    const ref = this.#ref(`connectionPairs/${pairKey(c.user1Id, c.user2Id)}`);
    let stale: string | null = null;
    for (let attempt = 0; attempt < PAIR_ATTEMPTS; attempt++) {
      // Never aborts: an abort would be decided on this client's optimistic view (another pending
      // claim here), while writing back what is there lets the server confirm who holds the pair.
      const claimed = await this.#transact(ref, (current: string | null) => (current === null || current === stale ? c.id : current));
      const holderId = claimed.snapshot.val() as string;
      if (holderId === c.id) return null;
      const holder = await this.getConnection(holderId);
      if (holder?.status === 'active') return holder;
      // Ended (or gone) but still holding the pair: its ending stopped before freeing it. Take it over.
      stale = holderId;
    }
    throw new Error(`createConnection could not take the pair of ${c.user1Id} and ${c.user2Id}`);
  }

  async #list(c: Connection): Promise<void> {
    await this.#write(
      this.#ref().update({
        [`userConnections/${userKey(c.user1Id)}/${c.id}`]: true,
        [`userConnections/${userKey(c.user2Id)}/${c.id}`]: true,
      }),
    );
  }

  async getConnection(id: string): Promise<Connection | null> {
    if (!validKey(id)) return null;
    const node = (await this.timed.read(this.#ref(`connections/${id}`))) as ConnectionNode | null;
    return node ? toConnection(id, node) : null;
  }

  async listConnections(
    userId: string,
    options: ConnectionListOptions,
  ): Promise<ConnectionSummary[]> {
    // All of the user's connections are read to sort them: a person has few, each a small node.
    const index = ((await this.timed.read(this.#ref(`userConnections/${userKey(userId)}`))) ?? {}) as Record<string, true>;
    const connections = (await Promise.all(Object.keys(index).map((id) => this.getConnection(id))))
      .filter((c): c is Connection => c !== null && (options.status === undefined || c.status === options.status))
      .filter((c) => !options.before || byActivityNewestFirst(c, { ...c, ...options.before }) > 0)
      .sort(byActivityNewestFirst)
      .slice(0, options.limit);
    return Promise.all(
      connections.map(async (connection) => ({
        connection,
        lastMessage: connection.lastSeq > 0 ? await this.#messageAt(connection.id, connection.lastSeq) : null,
      })),
    );
  }

  async endConnection(id: string, endedAt: string): Promise<Connection | null> {
    if (!validKey(id)) return null;
    const ended = await this.#transact(this.#ref(`connections/${id}`), (node: ConnectionNode | null) => {
      if (node === null) return null; // not seen yet: the server's value decides
      return node.status === 'active' ? { ...node, status: 'ended', endedAt } : undefined;
    });
    const node = ended.snapshot.val() as ConnectionNode | null;
    if (!ended.committed || node === null) return null;
    // A crash before this leaves the pair held by an ended connection; createConnection takes it over.
    const pair = this.#ref(`connectionPairs/${pairKey(node.user1Id, node.user2Id)}`);
    await this.#transact(pair, (holder: string | null) => (holder === id ? null : holder));
    return toConnection(id, node);
  }

  /**
   * Three steps, each atomic on its own: claim the idempotency key, take the seq by a transaction on
   * the connection (only while active), then write the message and the key's seq in one update.
   * A crash after the claim leaves the key claimed: retries with it time out (503) instead of
   * sending twice. A crash after taking the seq leaves that seq without a message: lastSeq counts it,
   * readers skip it.
   */
  async appendConnectionMessage(
    connectionId: string,
    m: NewConnectionMessage,
  ): Promise<{ message: ConnectionMessage; replayed: boolean } | null> {
    if (!validKey(connectionId)) return null;
    const keyPath = m.idempotencyKey === null ? null : `connectionIdempotency/${connectionId}/${userKey(m.idempotencyKey)}`;
    if (keyPath !== null) {
      // Claimed before the seq: a seq once taken cannot be given back without leaving a gap. While
      // this append runs the key holds its claim (a string), then the seq. The transaction never
      // aborts, so the server, not this client's optimistic view, says who holds the key.
      const claim = randomUUID();
      const held = await this.#transact(this.#ref(keyPath), (current: KeyHolder | null) => current ?? claim);
      const holder = held.snapshot.val() as KeyHolder;
      if (holder !== claim) return this.#replay(connectionId, m, keyPath, holder);
    }
    const taken = await this.#transact(this.#ref(`connections/${connectionId}`), (node: ConnectionNode | null) => {
      if (node === null) return null; // not seen yet: the server's value decides
      if (node.status !== 'active') return undefined;
      const seq = node.lastSeq + 1;
      const readUpTo = (userId: string, current: number) => (userId === m.senderId ? seq : current);
      return {
        ...node,
        lastSeq: seq,
        lastActivity: m.timestamp,
        user1ReadUpTo: readUpTo(node.user1Id, node.user1ReadUpTo),
        user2ReadUpTo: readUpTo(node.user2Id, node.user2ReadUpTo),
      };
    });
    const node = taken.snapshot.val() as ConnectionNode | null;
    if (!taken.committed || node === null) {
      if (keyPath !== null) await this.#write(this.#ref(keyPath).remove());
      return null;
    }
    const message: ConnectionMessage = {
      connectionId,
      seq: node.lastSeq,
      id: m.id,
      senderId: m.senderId,
      content: m.content,
      timestamp: m.timestamp,
    };
    await this.#write(
      this.#ref().update({
        [`connectionMessages/${connectionId}/${messageKey(message.seq)}`]: toMessageNode(message),
        ...(keyPath !== null ? { [keyPath]: message.seq } : {}),
      }),
    );
    return { message, replayed: false };
  }

  /** The message an earlier append with the same key stored; waits while that append is still running. */
  async #replay(
    connectionId: string,
    m: NewConnectionMessage,
    keyPath: string,
    holder: KeyHolder,
  ): Promise<{ message: ConnectionMessage; replayed: boolean } | null> {
    const seq = typeof holder === 'number' ? holder : await this.#settledSeq(this.#ref(keyPath));
    // The earlier append gave its key back (the connection was not active): this one decides afresh.
    if (seq === null) return this.appendConnectionMessage(connectionId, m);
    const message = await this.#messageAt(connectionId, seq);
    if (!message) throw new Error(`The message for an idempotency key in connection ${connectionId} is missing`);
    return { message, replayed: true };
  }

  /** Waits (within the time limit) until a claimed key gets its seq, or is given back (null). */
  async #settledSeq(ref: Reference): Promise<number | null> {
    let listener: ((snapshot: DataSnapshot) => void) | undefined;
    const settled = new Promise<number | null>((resolve) => {
      listener = ref.on('value', (snapshot) => {
        const holder = snapshot.val() as KeyHolder | null;
        if (typeof holder !== 'string') resolve(holder);
      });
    });
    try {
      return await this.#write(settled);
    } finally {
      ref.off('value', listener);
    }
  }

  async readConnectionMessages(
    connectionId: string,
    page: { limit: number; after?: number | undefined; before?: number | undefined },
  ): Promise<ConnectionMessage[]> {
    if (!validKey(connectionId) || page.limit <= 0) return [];
    let query = this.#ref(`connectionMessages/${connectionId}`).orderByKey();
    if (page.after !== undefined) {
      query = query.startAt(messageKey(Math.max(0, page.after) + 1)).limitToFirst(page.limit);
    } else {
      if (page.before !== undefined) {
        if (page.before <= 1) return [];
        query = query.endAt(messageKey(page.before - 1));
      }
      query = query.limitToLast(page.limit);
    }
    const nodes = ((await this.timed.read(query)) ?? {}) as Record<string, MessageNode>;
    return Object.keys(nodes)
      .sort()
      .map((key) => toMessage(connectionId, Number(key), nodes[key]!));
  }

  async markRead(connectionId: string, userId: string, upTo: number): Promise<Connection | null> {
    if (!validKey(connectionId)) return null;
    const result = await this.#transact(this.#ref(`connections/${connectionId}`), (node: ConnectionNode | null) => {
      if (node === null) return null; // not seen yet: the server's value decides
      const forward = (participant: string, current: number) =>
        participant === userId ? Math.max(current, Math.min(upTo, node.lastSeq)) : current;
      const moved = {
        ...node,
        user1ReadUpTo: forward(node.user1Id, node.user1ReadUpTo),
        user2ReadUpTo: forward(node.user2Id, node.user2ReadUpTo),
      };
      // Nothing to write: not a participant, or not forward.
      return moved.user1ReadUpTo === node.user1ReadUpTo && moved.user2ReadUpTo === node.user2ReadUpTo ? undefined : moved;
    });
    const node = result.snapshot.val() as ConnectionNode | null;
    if (node === null || (node.user1Id !== userId && node.user2Id !== userId)) return null;
    return toConnection(connectionId, node);
  }

  async putPushTarget(t: StoredPushTarget): Promise<void> {
    const node: PushTargetNode = { id: t.id, target: t.target, createdAt: t.createdAt };
    // The device's owner, swapped in one step: whoever had it before loses it.
    let previous: string | null = null;
    await this.#transact(this.#ref(`pushTargetOwners/${userKey(t.id)}`), (current: string | null) => {
      previous = current;
      return t.userId;
    });
    const updates: Record<string, unknown> = { [`pushTargets/${userKey(t.userId)}/${userKey(t.id)}`]: node };
    if (previous !== null && previous !== t.userId) updates[`pushTargets/${userKey(previous)}/${userKey(t.id)}`] = null;
    await this.#write(this.#ref().update(updates));
  }

  async listPushTargets(userId: string): Promise<StoredPushTarget[]> {
    const nodes = ((await this.timed.read(this.#ref(`pushTargets/${userKey(userId)}`))) ?? {}) as Record<string, PushTargetNode>;
    return Object.values(nodes)
      .map((n) => ({ id: n.id, userId, target: n.target, createdAt: n.createdAt }))
      .sort((a, b) => (a.createdAt === b.createdAt ? compare(a.id, b.id) : compare(a.createdAt, b.createdAt)));
  }

  async removePushTarget(userId: string, id: string): Promise<boolean> {
    // A transaction, so "was it there" is answered by the same step that removes it.
    let existed = false;
    await this.#transact(this.#ref(`pushTargets/${userKey(userId)}/${userKey(id)}`), (current: unknown) => {
      existed = current !== null;
      return null;
    });
    if (existed) {
      const owner = this.#ref(`pushTargetOwners/${userKey(id)}`);
      await this.#transact(owner, (current: string | null) => (current === userId ? null : current));
    }
    return existed;
  }

  async #messageAt(connectionId: string, seq: number): Promise<ConnectionMessage | null> {
    const node = (await this.timed.read(this.#ref(`connectionMessages/${connectionId}/${messageKey(seq)}`))) as MessageNode | null;
    return node ? toMessage(connectionId, seq, node) : null;
  }

  #ref(path?: string): Reference {
    return this.timed.db.ref(path);
  }

  #transact<T>(ref: Reference, update: (current: T) => unknown): Promise<TransactionResult> {
    return this.timed.transaction(ref, update);
  }

  #write<T>(operation: Promise<T>): Promise<T> {
    return this.timed.within(operation);
  }
}
