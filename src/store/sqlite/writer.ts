import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import { threadModuleUrl } from '../../thread-module-url.js';
import type { Synchronous } from './connection.js';
import type { WriterReply, WriterRequest } from './writer-thread.js';
import { commitBatch, prepareWrites, type WriteOp, type WriteOutcome } from './writes.js';

interface Pending {
  op: WriteOp;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes queue up while the previous batch is being committed and then go together
 * in one transaction, so a durable commit (fsync) is paid once per batch, not once per write.
 * One batch is in flight at a time, so writes commit in the order they were made. A write's
 * promise settles only once its batch is on disk.
 */
abstract class BatchingWriter {
  #queue: Pending[] = [];
  #scheduled = false;
  /** The drain in progress, if any. */
  #draining: Promise<void> | null = null;

  write<T>(op: WriteOp): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Resolves once everything written so far is committed. */
  async flushed(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining) await this.#drain();
  }

  protected abstract commit(ops: WriteOp[]): Promise<WriteOutcome[]>;

  /** Waits one turn of the event loop, so writes made together commit together. */
  #schedule(): void {
    if (this.#draining || this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#drain();
    });
  }

  #drain(): Promise<void> {
    this.#draining ??= this.#commitQueued().finally(() => {
      this.#draining = null;
      this.#schedule(); // writes that arrived after the last batch
    });
    return this.#draining;
  }

  /** Writes queued while a batch commits form the next batch: that is what makes the groups. */
  async #commitQueued(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, 1024);
      try {
        const outcomes = await this.commit(batch.map((p) => p.op));
        batch.forEach((pending, i) => {
          const outcome = outcomes[i]!;
          if (outcome.ok) pending.resolve(outcome.value);
          else pending.reject(new Error(outcome.error));
        });
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
  }
}

/** Commits on a worker thread: the event loop never blocks on the disk. */
export class ThreadWriter extends BatchingWriter {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (o: WriteOutcome[]) => void; reject: (e: unknown) => void }>();
  #nextId = 1;

  constructor(path: string, synchronous: Synchronous) {
    super();
    this.#worker = new Worker(threadModuleUrl(import.meta.url, 'writer-thread'), {
      workerData: { path, synchronous },
      // The thread only shuttles batches to SQLite: a small heap keeps the process's memory down.
      resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 128 },
    });
    this.#worker.on('message', (reply: WriterReply) => {
      if (reply.type === 'closed') return;
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (reply.type === 'batch') waiting?.resolve(reply.outcomes);
      else waiting?.reject(new Error(`SQLite commit failed: ${reply.error}`));
    });
    this.#worker.on('error', (error) => {
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    });
  }

  protected commit(ops: WriteOp[]): Promise<WriteOutcome[]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ type: 'batch', id, ops } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    await this.flushed();
    const closed = new Promise<void>((resolve) =>
      this.#worker.on('message', (reply: WriterReply) => reply.type === 'closed' && resolve()),
    );
    this.#worker.postMessage({ type: 'close' } satisfies WriterRequest);
    await closed;
    await this.#worker.terminate();
  }
}

/** Commits on the calling thread; for databases a second thread cannot open (":memory:"). */
export class InlineWriter extends BatchingWriter {
  readonly #sql: ReturnType<typeof prepareWrites>;

  constructor(private readonly db: Database) {
    super();
    this.#sql = prepareWrites(db);
  }

  protected async commit(ops: WriteOp[]): Promise<WriteOutcome[]> {
    return commitBatch(this.db, this.#sql, ops);
  }

  async close(): Promise<void> {
    await this.flushed();
  }
}
