import type { MessagePort, Worker } from 'node:worker_threads';

/**
 * Messages to another thread, sent together once per turn of the event loop: under load many calls
 * start (or finish) in one turn, and one postMessage for all of them costs far less than one each.
 */
export class ThreadMailbox<T> {
  #outbox: T[] = [];

  constructor(private readonly target: Pick<Worker | MessagePort, 'postMessage'>) {}

  send(message: T): void {
    this.#outbox.push(message);
    if (this.#outbox.length === 1) setImmediate(() => this.flush());
  }

  /** Sends what is waiting now (before closing, say). */
  flush(): void {
    if (this.#outbox.length === 0) return;
    const batch = this.#outbox;
    this.#outbox = [];
    this.target.postMessage(batch);
  }
}
