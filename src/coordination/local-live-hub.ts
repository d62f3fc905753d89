import type { LiveEvent, LiveHub, LiveListener } from '../people/live-hub.js';

/** Live delivery within one process: every socket is here. */
export class LocalLiveHub implements LiveHub {
  readonly #listeners = new Map<string, Set<LiveListener>>();

  async publish(userId: string, event: LiveEvent): Promise<boolean> {
    const listeners = this.#listeners.get(userId);
    if (!listeners) return false;
    for (const listener of listeners) listener(event);
    return true;
  }

  async subscribe(userId: string, listener: LiveListener): Promise<() => void> {
    let listeners = this.#listeners.get(userId);
    if (!listeners) this.#listeners.set(userId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(userId) === listeners) this.#listeners.delete(userId);
    };
  }
}
