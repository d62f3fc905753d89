import { listeningKeys, subscriptionKey, type LiveEvent, type LiveHub, type LiveListener, type SubscribeOptions } from '../people/live-hub.js';

/** Live delivery within one process: every socket is here. */
export class LocalLiveHub implements LiveHub {
  readonly #listeners = new Map<string, Set<LiveListener>>();

  async publish(userId: string, event: LiveEvent): Promise<boolean> {
    let delivered = false;
    for (const key of listeningKeys(userId, event)) {
      const listeners = this.#listeners.get(key);
      if (!listeners) continue;
      delivered = true;
      for (const listener of listeners) listener(event);
    }
    return delivered;
  }

  async subscribe(userId: string, listener: LiveListener, options: SubscribeOptions = {}): Promise<() => void> {
    const key = subscriptionKey(userId, options.connectionId);
    let listeners = this.#listeners.get(key);
    if (!listeners) this.#listeners.set(key, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(key) === listeners) this.#listeners.delete(key);
    };
  }
}
