import type { Redis } from 'ioredis';
import {
  listeningKeys,
  subscriptionKey,
  type LiveEvent,
  type LiveHub,
  type LiveListener,
  type SubscribeOptions,
} from '../people/live-hub.js';

const PREFIX = 'chatify:live:';

/**
 * Live delivery across instances: a Redis channel per user (and per user in one connection, for
 * sockets that watch only that), which an instance subscribes to while it holds such a socket.
 * PUBLISH answers how many instances listen, which tells whether the user is online anywhere.
 */
export class RedisLiveHub implements LiveHub {
  readonly #listeners = new Map<string, Set<LiveListener>>();
  readonly #onMissed = new Map<LiveListener, () => void>();
  /** Channels Redis has confirmed; a failed SUBSCRIBE leaves a channel out, so the next listener tries again. */
  readonly #subscribed = new Set<string>();
  /** Subscription changes per channel, one after another, so SUBSCRIBE and UNSUBSCRIBE never cross. */
  readonly #changes = new Map<string, Promise<void>>();

  /** `subscriber` is a connection in subscriber mode; it may serve other channels too. */
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) void this.#afterReconnect();
      connectedBefore = true;
    });
    subscriber.on('message', (channel: string, text: string) => {
      const listeners = this.#listeners.get(channel);
      if (!listeners) return;
      let event: LiveEvent;
      try {
        event = JSON.parse(text) as LiveEvent;
      } catch {
        return; // not ours: another program on the same Redis
      }
      for (const listener of listeners) listener(event);
    });
  }

  async publish(userId: string, event: LiveEvent): Promise<boolean> {
    const text = JSON.stringify(event);
    const [all, scoped] = listeningKeys(userId, event);
    const results = await this.publisher.pipeline().publish(PREFIX + all, text).publish(PREFIX + scoped, text).exec();
    let listening = 0;
    for (const [error, count] of results ?? []) {
      if (error) throw error;
      listening += Number(count);
    }
    return listening > 0;
  }

  async subscribe(userId: string, listener: LiveListener, options: SubscribeOptions = {}): Promise<() => void> {
    const channel = PREFIX + subscriptionKey(userId, options.connectionId);
    if (options.onMissed) this.#onMissed.set(listener, options.onMissed);
    let listeners = this.#listeners.get(channel);
    if (!listeners) this.#listeners.set(channel, (listeners = new Set()));
    listeners.add(listener);
    try {
      await this.#change(channel, async () => {
        if (this.#subscribed.has(channel)) return;
        await this.subscriber.subscribe(channel);
        this.#subscribed.add(channel);
      });
    } catch (error) {
      this.#remove(channel, listener);
      throw error;
    }
    return () => this.#remove(channel, listener);
  }

  /**
   * After a reconnect ioredis subscribes again by itself, but what was published meanwhile is gone.
   * A PING answered after the re-sent SUBSCRIBEs means they are in place: then listeners catch up.
   */
  async #afterReconnect(): Promise<void> {
    try {
      await this.subscriber.ping();
    } catch {
      return; // down again: the next 'ready' tries once more
    }
    for (const onMissed of this.#onMissed.values()) onMissed();
  }

  #remove(channel: string, listener: LiveListener): void {
    this.#onMissed.delete(listener);
    const listeners = this.#listeners.get(channel);
    if (!listeners?.delete(listener) || listeners.size > 0) return;
    this.#listeners.delete(channel);
    void this.#change(channel, async () => {
      // Someone may have subscribed again while this waited its turn.
      if (this.#listeners.has(channel) || !this.#subscribed.has(channel)) return;
      this.#subscribed.delete(channel);
      await this.subscriber.unsubscribe(channel);
    }).catch(() => undefined);
  }

  #change(channel: string, change: () => Promise<void>): Promise<void> {
    const previous = this.#changes.get(channel) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(change);
    this.#changes.set(channel, next);
    void next
      .finally(() => {
        if (this.#changes.get(channel) === next) this.#changes.delete(channel);
      })
      .catch(() => undefined);
    return next;
  }
}
