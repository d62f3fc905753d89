import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { ChatError } from '../../chat/errors.js';
import { threadModuleUrl } from '../../thread-module-url.js';
import type { Synchronous } from './connection.js';
import { BatchingWriter } from './writer.js';
import type { WriterReply, WriterRequest } from './writer-thread.js';
import type { WriteOp, WriteOutcome } from './writes.js';

/** A thread that dies is restarted after this long; each quick death doubles the wait, up to the maximum. */
export const FIRST_RESTART_DELAY_MS = 100;
export const MAX_RESTART_DELAY_MS = 5_000;
/** A thread that lived this long died of something new: its restart waits the first delay again. */
const STABLE_AFTER_MS = 30_000;

export interface WriterThreadEvents {
  /** A thread opened the database and takes writes. */
  up: [];
  /** The thread stopped; writes fail with store_unavailable until the next one is up. */
  down: [{ error: Error | undefined; exitCode: number; restartInMs: number }];
}

interface Waiting {
  resolve: (outcomes: WriteOutcome[]) => void;
  reject: (error: unknown) => void;
}

function storeUnavailable(cause?: unknown): ChatError {
  return new ChatError('store_unavailable', 'The database does not answer; please retry shortly.', { cause });
}

/**
 * Commits on a worker thread (writer-thread.ts): the event loop never blocks on the disk.
 *
 * The thread can die (out of memory, a native error). Batches it held then fail with
 * store_unavailable: SQLite committed each of them whole or not at all, and which one is unknown, so
 * none is acknowledged (a client retrying with its Idempotency-Key gets the stored answer if it did
 * land). Writes fail at once while no thread runs; a new one is started after a backoff that grows
 * while threads keep dying quickly, and writes made while it starts wait for it. `ready()` says
 * whether a thread has opened the database.
 */
export class ThreadWriter extends BatchingWriter {
  readonly events = new EventEmitter<WriterThreadEvents>();
  /** The running thread; null while waiting to restart one, and once closed. */
  #thread: Worker | null = null;
  /** Settles when the running thread has opened the database (rejects if it dies first). */
  #started: Promise<void> = Promise.resolve();
  #startedAt = 0;
  #lastError: Error | undefined;
  #restartDelayMs = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closing = false;
  #whenClosed: (() => void) | undefined;
  /** Batches handed to the running thread and not yet answered. */
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;

  constructor(
    private readonly path: string,
    private readonly synchronous: Synchronous,
  ) {
    super();
    this.#start();
  }

  /** The running thread, if any (tests end it to prove the store survives that). */
  get thread(): Worker | null {
    return this.#thread;
  }

  /** Resolves once a thread takes writes; rejects with store_unavailable while none does. */
  async ready(): Promise<void> {
    if (!this.#thread) throw storeUnavailable();
    await this.#started;
  }

  protected commit(ops: WriteOp[]): Promise<WriteOutcome[]> {
    const thread = this.#thread;
    if (!thread) return Promise.reject(storeUnavailable());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // Writes made while a new thread starts wait in its queue; should it die, they fail with the rest.
      thread.postMessage({ type: 'batch', id, ops } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#restartTimer);
    await this.flushed();
    const thread = this.#thread;
    if (!thread) return;
    // The thread commits what it holds and answers 'closed', or dies first: either way it is done.
    await new Promise<void>((resolve) => {
      this.#whenClosed = resolve;
      thread.postMessage({ type: 'close' } satisfies WriterRequest);
    });
    await thread.terminate();
  }

  #start(): void {
    this.#restartTimer = undefined;
    const thread = new Worker(threadModuleUrl(import.meta.url, 'writer-thread'), {
      workerData: { path: this.path, synchronous: this.synchronous },
      // The thread only shuttles batches to SQLite: a small heap keeps the process's memory down.
      resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 },
    });
    let opened!: () => void;
    let failed!: (error: unknown) => void;
    this.#started = new Promise<void>((resolve, reject) => ((opened = resolve), (failed = reject)));
    this.#started.catch(() => undefined); // only ready() callers care
    this.#thread = thread;
    this.#startedAt = Date.now();
    this.#lastError = undefined;
    thread.on('message', (reply: WriterReply) => {
      if (reply.type === 'ready') {
        opened();
        this.events.emit('up');
      } else this.#receive(reply);
    });
    thread.on('error', (error) => (this.#lastError = error)); // 'exit' follows
    // Messages the thread sent before it stopped have all been delivered by now.
    thread.on('exit', (exitCode) => {
      const error = this.#lastError;
      failed(storeUnavailable(error));
      this.#stopped(error, exitCode);
    });
  }

  /** A thread that cannot even be created counts as one that died at once. */
  #restart(): void {
    try {
      this.#start();
    } catch (error) {
      this.#stopped(error instanceof Error ? error : new Error(String(error)), -1);
    }
  }

  #receive(reply: Exclude<WriterReply, { type: 'ready' }>): void {
    if (reply.type === 'committed') {
      for (const { id, outcomes } of reply.batches) this.#settle(id)?.resolve(outcomes);
    } else if (reply.type === 'failed') {
      // The commit itself failed (disk full, file unwritable): nothing of these batches is stored.
      const error = storeUnavailable(new Error(`SQLite commit failed: ${reply.error}`));
      for (const id of reply.ids) this.#settle(id)?.reject(error);
    } else {
      this.#whenClosed?.();
    }
  }

  /** The callbacks of a batch the thread has answered, no longer waiting. */
  #settle(id: number): Waiting | undefined {
    const waiting = this.#waiting.get(id);
    this.#waiting.delete(id);
    return waiting;
  }

  #stopped(error: Error | undefined, exitCode: number): void {
    this.#thread = null;
    const unavailable = storeUnavailable(error);
    for (const waiting of this.#waiting.values()) waiting.reject(unavailable);
    this.#waiting.clear();
    if (this.#closing) {
      this.#whenClosed?.();
      return;
    }
    // A thread that keeps dying at once (say the file became unusable) is not restarted in a tight loop.
    const quick = Date.now() - this.#startedAt < STABLE_AFTER_MS;
    this.#restartDelayMs = quick ? Math.min(MAX_RESTART_DELAY_MS, this.#restartDelayMs * 2 || FIRST_RESTART_DELAY_MS) : FIRST_RESTART_DELAY_MS;
    this.#restartTimer = setTimeout(() => this.#restart(), this.#restartDelayMs);
    this.events.emit('down', { error, exitCode, restartInMs: this.#restartDelayMs });
  }
}

/** Tells the log when the writer thread stops and when a new one is back. */
export function logWriterThread(writer: ThreadWriter, log: { error(details: object, message: string): void; info(message: string): void }): void {
  let down = false;
  writer.events.on('down', ({ error, exitCode, restartInMs }) => {
    down = true;
    log.error({ err: error, exitCode, restartInMs }, 'the SQLite writer thread stopped; writes answer 503 until a new one is up');
  });
  writer.events.on('up', () => {
    if (down) log.info('the SQLite writer thread is back');
    down = false;
  });
}
