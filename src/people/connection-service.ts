import { ChatError } from '../chat/errors.js';
import { checkMessageText } from '../chat/message-text.js';
import { idempotencyKeyReused, isUuid } from '../chat/session-rules.js';
import type { ConnectionStore, ConnectionListOptions } from './connection-store.js';
import type { LiveEvent, LiveHub } from './live-hub.js';
import { consecutiveMessages } from './message-holes.js';
import type { Notifier } from './notifier.js';
import {
  isParticipant,
  otherParticipant,
  participants,
  readUpToOf,
  unreadCountOf,
  type Connection,
  type ConnectionMessage,
  type ConnectionSummary,
} from './types.js';

export interface ConnectionServiceDeps {
  store: ConnectionStore;
  hub: LiveHub;
  notifier: Notifier;
  now: () => Date;
  newId: () => string;
  log: { warn(details: object, message: string): void };
}

export interface ConnectionServiceOptions {
  maxMessageLength: number;
  /** Put message text into notifications; off for privacy. */
  includeText: boolean;
}

/**
 * `viewer` is the user a request acts for. Undefined means a trusted caller (no sign-in, no user
 * named): allowed to see any connection, like the chatbot's sessions without sign-in.
 */
type Viewer = string | undefined;

export const connectionNotFound = () =>
  new ChatError('connection_not_found', 'No such connection, or you are not one of its two users.');
const connectionEnded = () => new ChatError('connection_ended', 'This connection has ended; start a new one to write again.');

/**
 * User-to-user chat: connections between two people, their messages (stored before they are
 * acknowledged), read positions, and delivery to live sockets or, failing that, a notification.
 */
export class ConnectionService {
  /** Deliveries and notifications still under way, so shutdown can wait for them. */
  readonly #pending = new Set<Promise<void>>();

  constructor(
    private readonly deps: ConnectionServiceDeps,
    private readonly options: ConnectionServiceOptions,
  ) {}

  async create(user1Id: string, user2Id: string): Promise<{ connection: Connection; created: boolean }> {
    if (user1Id === user2Id) throw new ChatError('same_user', 'A connection needs two different users.');
    const now = this.#now();
    const result = await this.deps.store.createConnection({
      id: this.deps.newId(),
      user1Id,
      user2Id,
      status: 'active',
      createdAt: now,
      endedAt: null,
      lastActivity: now,
      lastSeq: 0,
      user1ReadUpTo: 0,
      user2ReadUpTo: 0,
    });
    if (result.created) this.#announce(result.connection, { type: 'connection', connection: result.connection });
    return result;
  }

  list(userId: string, options: ConnectionListOptions): Promise<ConnectionSummary[]> {
    return this.deps.store.listConnections(userId, options);
  }

  /** The connection, if it exists and `viewer` is one of its users. */
  async get(id: string, viewer: Viewer): Promise<Connection> {
    if (!isUuid(id)) throw connectionNotFound();
    const connection = await this.deps.store.getConnection(id);
    if (!connection || (viewer !== undefined && !isParticipant(connection, viewer))) throw connectionNotFound();
    return connection;
  }

  /**
   * Stores a message from one participant to the other and answers once it is durable; live
   * delivery and notification follow without holding up the sender.
   */
  async send(
    id: string,
    senderId: string,
    content: string,
    idempotencyKey?: string,
  ): Promise<{ message: ConnectionMessage; replayed: boolean }> {
    checkMessageText(content, this.options.maxMessageLength);
    const connection = await this.get(id, senderId);
    if (connection.status !== 'active' && idempotencyKey === undefined) throw connectionEnded();
    const result = await this.deps.store.appendConnectionMessage(id, {
      id: this.deps.newId(),
      senderId,
      content,
      timestamp: this.#now(),
      idempotencyKey: idempotencyKey ?? null,
    });
    if (!result) throw connectionEnded();
    if (result.replayed && (result.message.senderId !== senderId || result.message.content !== content)) {
      throw idempotencyKeyReused();
    }
    if (!result.replayed) this.#track(this.#deliver(connection, result.message));
    return result;
  }

  async messages(
    id: string,
    viewer: Viewer,
    page: { limit: number; after?: number | undefined; before?: number | undefined },
  ): Promise<ConnectionMessage[]> {
    await this.get(id, viewer);
    const messages = await this.deps.store.readConnectionMessages(id, page);
    if (page.after === undefined) return messages;
    // Catching up: never past a message whose write may still land, or the client would skip it.
    return consecutiveMessages(messages, page.after, this.deps.now().getTime()).messages;
  }

  /**
   * Moves `userId`'s read position up to `upTo` and tells both users' sockets. A receipt that moves
   * nothing (a repeat, or an older one arriving late) writes nothing and tells no one.
   */
  async markRead(id: string, userId: string, upTo: number): Promise<{ connection: Connection; readUpTo: number; unreadCount: number }> {
    const connection = await this.get(id, userId);
    if (upTo > connection.lastSeq) {
      throw new ChatError('invalid_read_position', `up_to is past the newest message (${connection.lastSeq}).`);
    }
    const current = readUpToOf(connection, userId);
    if (upTo <= current) return { connection, readUpTo: current, unreadCount: unreadCountOf(connection, userId) };
    const updated = await this.deps.store.markRead(id, userId, upTo);
    if (!updated) throw connectionNotFound();
    const readUpTo = readUpToOf(updated, userId);
    this.#announce(updated, { type: 'read', connectionId: id, userId, upTo: readUpTo });
    return { connection: updated, readUpTo, unreadCount: unreadCountOf(updated, userId) };
  }

  async end(id: string, viewer: Viewer): Promise<Connection> {
    const connection = await this.get(id, viewer);
    if (connection.status !== 'active') throw connectionEnded();
    const ended = await this.deps.store.endConnection(id, this.#now());
    if (!ended) throw connectionEnded();
    this.#announce(ended, { type: 'connection', connection: ended });
    return ended;
  }

  /** Tells the other participant that `userId` is typing. Nothing is stored. */
  async typing(id: string, userId: string): Promise<void> {
    const connection = await this.get(id, userId);
    if (connection.status !== 'active') throw connectionEnded();
    await this.#publish(otherParticipant(connection, userId), { type: 'typing', connectionId: id, userId });
  }

  /** Waits (at most `timeoutMs`) for deliveries and notifications under way. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.#pending]), timeout]);
    clearTimeout(timer);
  }

  async #deliver(connection: Connection, message: ConnectionMessage): Promise<void> {
    const event: LiveEvent = { type: 'message', connectionId: connection.id, message };
    const recipientId = otherParticipant(connection, message.senderId);
    const [recipientOnline] = await Promise.all([this.#publish(recipientId, event), this.#publish(message.senderId, event)]);
    if (recipientOnline) return;
    await this.deps.notifier.notify({
      recipientId,
      connectionId: connection.id,
      senderId: message.senderId,
      messageId: message.id,
      seq: message.seq,
      timestamp: message.timestamp,
      text: this.options.includeText ? message.content : null,
      // Everything after the recipient's read position, as of this message.
      unreadCount: Math.max(1, message.seq - readUpToOf(connection, recipientId)),
    });
  }

  #announce(connection: Connection, event: LiveEvent): void {
    this.#track(Promise.all(participants(connection).map((userId) => this.#publish(userId, event))).then(() => undefined));
  }

  /** Publishes; a failure counts as "nobody listening" (the message is stored and sockets catch up). */
  async #publish(userId: string, event: LiveEvent): Promise<boolean> {
    try {
      return await this.deps.hub.publish(userId, event);
    } catch (error) {
      this.deps.log.warn({ err: error, event: event.type }, 'live delivery failed; clients will catch up from the store');
      return false;
    }
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => this.deps.log.warn({ err: error }, 'delivery failed'));
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
  }

  #now(): string {
    return this.deps.now().toISOString();
  }
}
