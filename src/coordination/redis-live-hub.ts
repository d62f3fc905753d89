import type { Redis } from 'ioredis';
import type { LiveEvent, LiveHub, LiveListener } from '../people/live-hub.js';

const PREFIX = 'chatify:live:';
const RESUBSCRIBE_GRACE_MS = 200;

/**
 * Live delivery across instances: one Redis channel per user, which an instance subscribes to while
 * it holds a socket of that user. PUBLISH answers how many instances listen, which tells whether the
 * user is online anywhere.
 */
export class RedisLiveHub implements LiveHub {
  readonly #listeners = new Map<string, Set<LiveListener>>();
  readonly #onMissed = new Map<LiveListener, () => void>();
  /** Subscription changes per channel, one after another, so SUBSCRIBE and UNSUBSCRIBE never cross. */
  readonly #changes = new Map<string, Promise<void>>();

  /** `subscriber` is a connection in subscriber mode; it may serve other channels too. */
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    // After a reconnect ioredis subscribes again by itself; what was published meanwhile is gone.
    let connectedBefore = false;
    subscriber.on('ready', () => {
      // A moment later, so the channels are subscribed again before listeners read the store.
      if (connectedBefore) setTimeout(() => this.#onMissed.forEach((onMissed) => onMissed()), RESUBSCRIBE_GRACE_MS);
      connectedBefore = true;
    });
    subscriber.on('message', (channel: string, text: string) => {
      if (!channel.startsWith(PREFIX)) return;
      const listeners = this.#listeners.get(channel.slice(PREFIX.length));
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
    return (await this.publisher.publish(PREFIX + userId, JSON.stringify(event))) > 0;
  }

  async subscribe(userId: string, listener: LiveListener, onMissed?: () => void): Promise<() => void> {
    if (onMissed) this.#onMissed.set(listener, onMissed);
    let listeners = this.#listeners.get(userId);
    const first = !listeners;
    if (!listeners) this.#listeners.set(userId, (listeners = new Set()));
    listeners.add(listener);
    try {
      await this.#change(userId, () => (first ? this.subscriber.subscribe(PREFIX + userId) : undefined));
    } catch (error) {
      this.#remove(userId, listener);
      throw error;
    }
    return () => this.#remove(userId, listener);
  }

  #remove(userId: string, listener: LiveListener): void {
    this.#onMissed.delete(listener);
    const listeners = this.#listeners.get(userId);
    if (!listeners?.delete(listener) || listeners.size > 0) return;
    this.#listeners.delete(userId);
    void this.#change(userId, async () => {
      // Someone may have subscribed again while this waited its turn.
      if (!this.#listeners.has(userId)) await this.subscriber.unsubscribe(PREFIX + userId);
    }).catch(() => undefined);
  }

  #change(userId: string, change: () => Promise<unknown> | undefined): Promise<void> {
    const previous = this.#changes.get(userId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(change).then(() => undefined);
    this.#changes.set(userId, next);
    void next.finally(() => {
      if (this.#changes.get(userId) === next) this.#changes.delete(userId);
    }).catch(() => undefined);
    return next;
  }
}
