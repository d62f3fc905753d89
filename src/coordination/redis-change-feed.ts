import type { Redis } from 'ioredis';
import type { ChangeFeed } from '../chat/change-feed.js';

const CHANNEL = 'chatify:personalities-changed';

/** Personality and rules changes announced to every instance over Redis pub/sub. */
export class RedisChangeFeed implements ChangeFeed {
  readonly #listeners: (() => void)[] = [];

  /** `subscriber` must be a connection of its own: a subscribed Redis connection does nothing else. */
  constructor(
    private readonly publisher: Redis,
    subscriber: Redis,
  ) {
    void subscriber.subscribe(CHANNEL).catch(() => undefined);
    subscriber.on('message', (channel: string) => {
      if (channel === CHANNEL) for (const listener of this.#listeners) listener();
    });
  }

  publish(): void {
    this.publisher.publish(CHANNEL, String(Date.now())).catch(() => undefined);
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }
}
