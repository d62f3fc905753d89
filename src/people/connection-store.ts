import type {
  Connection,
  ConnectionMessage,
  ConnectionSummary,
  NewConnectionMessage,
  StoredPushTarget,
} from './types.js';

/** A place in a user's list of connections: the last one of the previous page. */
export interface ConnectionCursor {
  lastActivity: string;
  id: string;
}

export interface ConnectionListOptions {
  limit: number;
  status?: Connection['status'] | undefined;
  before?: ConnectionCursor | undefined;
}

/**
 * What user-to-user chat needs from durable storage. The sqlite, postgres and firebase stores
 * implement it beside the chat Store and pass one contract suite (test/store/connection-contract.ts).
 */
export interface ConnectionStore {
  /**
   * Stores a new connection, unless the two users already have an active one (in either order):
   * then that one is returned with `created: false` and nothing is written.
   */
  createConnection(connection: Connection): Promise<{ connection: Connection; created: boolean }>;
  getConnection(id: string): Promise<Connection | null>;
  /**
   * A user's connections, most recent activity first (then by id, descending), each with its newest
   * message; with `before`, only those after that one in this order (the next page).
   */
  listConnections(userId: string, options: ConnectionListOptions): Promise<ConnectionSummary[]>;
  /** Marks an active connection ended; returns it, or null when there is none or it already ended. */
  endConnection(id: string, endedAt: string): Promise<Connection | null>;

  /**
   * Appends a message atomically: it gets the next sequence number, the connection's lastSeq and
   * lastActivity move to it, and its sender's readUpTo becomes its seq. When the idempotency key was
   * already used in this connection, nothing is written and the earlier message comes back with
   * `replayed: true`. Null when the connection is missing or not active.
   */
  appendConnectionMessage(
    connectionId: string,
    message: NewConnectionMessage,
  ): Promise<{ message: ConnectionMessage; replayed: boolean } | null>;
  /**
   * Messages in seq order: with `after`, the first `limit` with seq above it; otherwise the newest
   * `limit` with seq below `before` (all when omitted).
   */
  readConnectionMessages(
    connectionId: string,
    page: { limit: number; after?: number | undefined; before?: number | undefined },
  ): Promise<ConnectionMessage[]>;
  /**
   * Moves a participant's read position forward to `upTo` (never back, never past lastSeq);
   * returns the connection afterwards, or null when it is missing or `userId` is not a participant.
   */
  markRead(connectionId: string, userId: string, upTo: number): Promise<Connection | null>;

  /**
   * Saves (or refreshes) a device to notify; the same id replaces the earlier one. A device belongs
   * to one user: saving it for one removes it from any other (an account switch on a shared device).
   */
  putPushTarget(target: StoredPushTarget): Promise<void>;
  listPushTargets(userId: string): Promise<StoredPushTarget[]>;
  /** Forgets a device (unsubscribed, or its token expired); false when it was not there. */
  removePushTarget(userId: string, id: string): Promise<boolean>;
}
