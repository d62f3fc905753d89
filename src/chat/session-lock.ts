import { SerialQueue } from './serial-queue.js';

/**
 * One writer per session at a time. Work on one session runs one task at a time, in the order it
 * asked; implementations decide how far that reaches: this process (LocalSessionLock) or every
 * instance sharing the store (src/coordination).
 */
export interface SessionLock {
  run<T>(sessionId: string, task: () => Promise<T>): Promise<T>;
}

/** For a single instance: an in-process queue per session. */
export class LocalSessionLock implements SessionLock {
  readonly #queue = new SerialQueue();

  run<T>(sessionId: string, task: () => Promise<T>): Promise<T> {
    return this.#queue.run(sessionId, task);
  }
}
