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
 * Group commit: writes made in one turn of the event loop go to the committer together, and a
 * committer that is busy gathers whatever arrives meanwhile into its next transaction, so a
 * durable commit (fsync) is paid once per batch, not once per write. Batches are handed over in
 * order without waiting for the previous one to finish (the committer keeps that order), so the
 * next commit never waits for this thread to come round. A write's promise settles only once its
 * batch is on disk.
 */
abstract class BatchingWriter {
  #queue: Pending[] = [];
  #scheduled = false;
  /** Batches handed over and not yet settled. */
  readonly #inFlight = new Set<Promise<void>>();

  write<T>(op: WriteOp): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#handOver());
      }
    });
  }

  /** Resolves once everything written so far is committed. */
  async flushed(): Promise<void> {
    this.#handOver();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  protected abstract commit(ops: WriteOp[]): Promise<WriteOutcome[]>;

  #handOver(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, 1024);
      const settled = this.commit(batch.map((p) => p.op)).then(
        (outcomes) =>
          batch.forEach((pending, i) => {
            const outcome = outcomes[i]!;
            if (outcome.ok) pending.resolve(outcome.value);
            else pending.reject(new Error(outcome.error));
          }),
        (error: unknown) => batch.forEach((pending) => pending.reject(error)),
      );
      this.#inFlight.add(settled);
      void settled.finally(() => this.#inFlight.delete(settled));
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
      if (reply.type === 'committed') {
        for (const { id, outcomes } of reply.batches) this.#settle(id)?.resolve(outcomes);
      } else if (reply.type === 'failed') {
        const error = new Error(`SQLite commit failed: ${reply.error}`);
        for (const id of reply.ids) this.#settle(id)?.reject(error);
      }
    });
    this.#worker.on('error', (error) => {
      for (const waiting of this.#waiting.values()) waiting.reject(error);
      this.#waiting.clear();
    });
  }

  /** The callbacks of a batch the thread has answered, no longer waiting. */
  #settle(id: number) {
    const waiting = this.#waiting.get(id);
    this.#waiting.delete(id);
    return waiting;
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
