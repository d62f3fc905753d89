import type { Database } from 'better-sqlite3';
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
export abstract class BatchingWriter {
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
