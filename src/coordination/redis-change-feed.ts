import type { Redis } from 'ioredis';
import type { ChangeFeed } from '../chat/change-feed.js';

const CHANNEL = 'chatify:personalities-changed';

/**
 * Personality and rules changes announced to every instance over Redis pub/sub. News published while
 * the subscriber is disconnected is lost, so then nothing may be kept (`listening` is false), and once
 * it is subscribed again listeners drop what they derived before: the next use reads the store.
 */
export class RedisChangeFeed implements ChangeFeed {
  readonly #listeners: (() => void)[] = [];
  #listening = false;

  /** `subscriber` must be a connection of its own: a subscribed Redis connection does nothing else. */
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    subscriber.on('close', () => this.#setListening(false));
    subscriber.on('ready', () => void this.#subscribe());
    subscriber.on('message', (channel: string) => {
      if (channel === CHANNEL) this.#notify();
    });
    if (subscriber.status === 'ready') void this.#subscribe();
  }

  get listening(): boolean {
    return this.#listening;
  }

  publish(): void {
    this.publisher.publish(CHANNEL, String(Date.now())).catch(() => undefined);
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** Listening starts when Redis confirms the subscription, not when the connection is back. */
  async #subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(CHANNEL);
    } catch {
      return; // down again: the next 'ready' tries once more
    }
    if (this.subscriber.status === 'ready') this.#setListening(true);
  }

  #setListening(listening: boolean): void {
    this.#listening = listening;
    this.#notify();
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}
