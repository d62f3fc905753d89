import type { Database } from 'better-sqlite3';

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes queued during one turn of the event loop commit together in a single
 * transaction, so a durable (fsync'd) commit is paid once per batch instead of once per write.
 * Each write runs in its own savepoint, so one failing write does not undo the others; a write's
 * promise settles only after its batch is on disk.
 */
export class GroupCommit {
  #pending: PendingWrite[] = [];
  #scheduled = false;

  constructor(
    private readonly db: Database,
    /** Most writes per transaction, so one batch never holds the event loop for long. */
    private readonly maxBatch = 512,
  ) {}

  write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run, resolve: resolve as (value: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** Commits everything queued now (before the database closes). */
  flushAll(): void {
    while (this.#pending.length > 0) this.#commitBatch();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#commitBatch();
      if (this.#pending.length > 0) this.#schedule();
    });
  }

  #commitBatch(): void {
    const batch = this.#pending.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.db.transaction(() => {
        for (const write of batch) {
          try {
            // A nested transaction is a savepoint: a failing write rolls back alone.
            outcomes.push({ ok: true, value: this.db.transaction(write.run)() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      for (const write of batch) write.reject(error);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }
}
