import type { ConnectionStore } from './connection-store.js';
import { connectionNotFound } from './connection-service.js';
import { eventConnectionId, type LiveEvent, type LiveHub } from './live-hub.js';
import { consecutiveMessages } from './message-holes.js';
import { isParticipant, type Connection } from './types.js';

/** What a live socket is sent: the hub's events, and "ready" once it is caught up and listening. */
export type FeedEvent = LiveEvent | { type: 'ready'; userId: string };

export interface FeedOptions {
  /** Only this connection's events (the user must be one of its participants). */
  connectionId?: string | undefined;
  /** Resume points: connection id → the last sequence number the client has. */
  after: ReadonlyMap<string, number>;
  /** The resume point of every connection not in `after` (a client with one connection may send just its seq). */
  afterElsewhere?: number | undefined;
}

/** Connections a user has that a feed learns the newest seq of when it opens. */
const KNOWN_CONNECTIONS = 1000;
const PAGE = 500;
/** Waits before reading a hole again (its write may still be under way), growing to the last. */
const HOLE_WAITS_MS = [20, 50, 100, 250, 500, 1000];
/** Feeds catching up after an outage spread their reads over this long. */
const RESYNC_SPREAD_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One live socket's view of a user's connections. Every message reaches the socket once, in seq
 * order per connection: the feed remembers the last seq it sent per connection, drops repeats, and
 * reads any gap (a missed publish, a resume after reconnecting) from the store before going on.
 */
export class LiveFeed {
  readonly #delivered = new Map<string, number>();
  /** True when the feed knows every connection the user had when it opened: any other one is new. */
  #knowsAll = true;
  /** Events are handled one after another; the first task is the catch-up. */
  #queue: Promise<void>;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  private constructor(
    private readonly store: ConnectionStore,
    private readonly userId: string,
    private readonly only: string | undefined,
    private readonly sink: (event: FeedEvent) => void,
    gate: Promise<void>,
  ) {
    this.#queue = gate;
  }

  /**
   * Subscribes, sends what the client missed after its resume points, then "ready", then live
   * events. Throws connection_not_found when `connectionId` is not the user's.
   */
  static async open(
    deps: { store: ConnectionStore; hub: LiveHub },
    userId: string,
    options: FeedOptions,
    sink: (event: FeedEvent) => void,
  ): Promise<LiveFeed> {
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const feed = new LiveFeed(deps.store, userId, options.connectionId, sink, gate);
    // Listen first, then read: whatever is stored after the read arrives through the queue.
    feed.#unsubscribe = await deps.hub.subscribe(userId, (event) => feed.#enqueue(event), {
      connectionId: options.connectionId,
      onMissed: () => feed.#resync(),
    });
    try {
      await feed.#catchUp(options);
    } catch (error) {
      feed.close();
      throw error;
    } finally {
      openGate();
    }
    sink({ type: 'ready', userId });
    return feed;
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
  }

  async #catchUp(options: FeedOptions): Promise<void> {
    const connections = await this.#connectionsToWatch();
    for (const connection of connections) {
      const after = options.after.get(connection.id) ?? options.afterElsewhere;
      this.#delivered.set(connection.id, Math.min(after ?? connection.lastSeq, connection.lastSeq));
      if (after !== undefined && after < connection.lastSeq) await this.#sendStored(connection.id, connection.lastSeq);
    }
    // Resume points for connections the list did not reach.
    for (const [id, after] of options.after) {
      if (this.#delivered.has(id) || this.only !== undefined) continue;
      const connection = await this.store.getConnection(id);
      if (!connection || !isParticipant(connection, this.userId)) continue;
      this.#delivered.set(id, Math.min(after, connection.lastSeq));
      await this.#sendStored(id, connection.lastSeq);
    }
  }

  async #connectionsToWatch(): Promise<Connection[]> {
    if (this.only === undefined) {
      const summaries = await this.store.listConnections(this.userId, { limit: KNOWN_CONNECTIONS });
      this.#knowsAll = summaries.length < KNOWN_CONNECTIONS;
      return summaries.map((summary) => summary.connection);
    }
    const connection = await this.store.getConnection(this.only);
    if (!connection || !isParticipant(connection, this.userId)) throw connectionNotFound();
    return [connection];
  }

  #enqueue(event: LiveEvent): void {
    if (this.only !== undefined && eventConnectionId(event) !== this.only) return;
    this.#queue = this.#queue.then(() => this.#handle(event)).catch(() => undefined);
  }

  /** Live events may have been lost: send what the store has beyond what was delivered. */
  #resync(): void {
    this.#queue = this.#queue
      .then(async () => {
        await sleep(Math.random() * RESYNC_SPREAD_MS);
        const connections = await this.#connectionsToWatch();
        for (const connection of connections) {
          if (this.#closed) return;
          const delivered = this.#delivered.get(connection.id);
          if (delivered === undefined) this.#delivered.set(connection.id, 0); // new while the link was down
          if ((delivered ?? 0) < connection.lastSeq) await this.#sendStored(connection.id, connection.lastSeq);
        }
      })
      .catch(() => undefined);
  }

  async #handle(event: LiveEvent): Promise<void> {
    if (this.#closed) return;
    if (event.type === 'connection') {
      // A new connection starts at 0; an ended one keeps what was sent.
      if (!this.#delivered.has(event.connection.id)) this.#delivered.set(event.connection.id, 0);
      this.sink(event);
      return;
    }
    if (event.type !== 'message') {
      this.sink(event);
      return;
    }
    const { connectionId, message } = event;
    // A connection the feed has not heard of is new (it starts at 0), unless the feed could not
    // list them all when it opened: then this message is the first it can vouch for.
    const delivered = this.#delivered.get(connectionId) ?? (this.#knowsAll ? 0 : message.seq - 1);
    if (message.seq === delivered + 1) {
      this.#delivered.set(connectionId, message.seq);
      this.sink(event);
    } else if (message.seq > delivered + 1) {
      // Something in between never arrived (or arrives later): the store has it.
      this.#delivered.set(connectionId, delivered);
      await this.#sendStored(connectionId, message.seq);
    }
  }

  /**
   * Sends stored messages after what was delivered, in seq order, up to and including `upTo`. A
   * hole is waited for while its write may still land (message-holes.ts), then skipped.
   */
  async #sendStored(connectionId: string, upTo: number): Promise<void> {
    let after = this.#delivered.get(connectionId) ?? 0;
    let waits = 0;
    while (after < upTo && !this.#closed) {
      const page = await this.store.readConnectionMessages(connectionId, { after, limit: Math.min(PAGE, upTo - after) });
      if (page.length === 0) break;
      const { messages, waiting } = consecutiveMessages(page, after, Date.now());
      for (const message of messages) {
        after = message.seq;
        this.sink({ type: 'message', connectionId, message });
      }
      this.#delivered.set(connectionId, after);
      if (waiting) await sleep(HOLE_WAITS_MS[Math.min(waits++, HOLE_WAITS_MS.length - 1)]!);
      else waits = 0;
    }
  }
}
