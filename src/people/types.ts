/** User-to-user chat: two people, a connection between them, and the messages they exchange. */

export type ConnectionStatus = 'active' | 'ended';

export interface Connection {
  id: string;
  /** The two participants, in the order the connection was created with. */
  user1Id: string;
  user2Id: string;
  status: ConnectionStatus;
  createdAt: string;
  endedAt: string | null;
  /** When the last message was sent (createdAt before the first). */
  lastActivity: string;
  /** The newest message's sequence number; 0 before the first. */
  lastSeq: number;
  /**
   * How far each participant has read (a sequence number). Sending a message marks everything up to
   * it read for its sender, so a participant's unread count is exactly `lastSeq - readUpTo`.
   */
  user1ReadUpTo: number;
  user2ReadUpTo: number;
}

export interface NewConnectionMessage {
  id: string;
  senderId: string;
  content: string;
  timestamp: string;
  /** The client's Idempotency-Key: a retry with the same key gets the stored message back. */
  idempotencyKey: string | null;
}

export interface ConnectionMessage extends Omit<NewConnectionMessage, 'idempotencyKey'> {
  connectionId: string;
  /** Position in the connection, from 1, without gaps. */
  seq: number;
}

/** A connection as one of its participants sees it in their list. */
export interface ConnectionSummary {
  connection: Connection;
  lastMessage: ConnectionMessage | null;
}

/** Where to reach a user's device when they have no live socket. */
export type PushTarget =
  | { kind: 'webpush'; subscription: { endpoint: string; keys: { p256dh: string; auth: string } } }
  | { kind: 'fcm'; token: string };

export interface StoredPushTarget {
  /** Stable for the same device: a hash of the endpoint or token. */
  id: string;
  userId: string;
  target: PushTarget;
  createdAt: string;
}

export const participants = (connection: Connection): [string, string] => [connection.user1Id, connection.user2Id];

export const isParticipant = (connection: Connection, userId: string): boolean =>
  connection.user1Id === userId || connection.user2Id === userId;

/** The participant who is not `userId`. */
export const otherParticipant = (connection: Connection, userId: string): string =>
  connection.user1Id === userId ? connection.user2Id : connection.user1Id;

export const readUpToOf = (connection: Connection, userId: string): number =>
  connection.user1Id === userId ? connection.user1ReadUpTo : connection.user2ReadUpTo;

export const unreadCountOf = (connection: Connection, userId: string): number =>
  Math.max(0, connection.lastSeq - readUpToOf(connection, userId));
