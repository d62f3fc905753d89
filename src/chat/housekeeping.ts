import { linkedSignal } from './linked-signal.js';

/**
 * Work done beside the conversation after a reply is stored (titles now; summaries and memories
 * later). It never slows, fails or changes a reply: jobs wait in a bounded queue, run a few at a
 * time, each within a time limit and retried a couple of times, and a job that finds the queue
 * full is dropped and counted. Shutdown waits for them within its own bound.
 */

export type HousekeepingOutcome = 'ok' | 'failed' | 'dropped';

/** Told about every job's end (metrics); never given any message text. */
export interface HousekeepingObserver {
  finished(kind: string, outcome: HousekeepingOutcome, seconds: number): void;
}

/** Where failures are logged: the job's kind, its session and why, never what was said. */
export interface HousekeepingLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface HousekeepingOptions {
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting at most; more are dropped. */
  maxPending: number;
  /** Longest one attempt may take. */
  timeoutMs: number;
  /** Attempts after the first failed one. */
  retries: number;
  /** Wait before the first retry; doubled for each further one. */
  retryDelayMs: number;
}

export interface HousekeepingJob {
  kind: string;
  sessionId: string;
  /**
   * Jobs with the same key do the same work: one waiting or running makes another redundant (it is
   * skipped, not counted as dropped). Default: kind and session.
   */
  key?: string;
  /** One attempt; `signal` aborts when the attempt times out or the runner closes. */
  run(signal: AbortSignal): Promise<void>;
}

class AttemptTimeout extends Error {
  override readonly name = 'AttemptTimeout';
}

export class Housekeeping {
  readonly #pending: HousekeepingJob[] = [];
  /** Keys of the jobs waiting or running. */
  readonly #keys = new Set<string>();
  #running = 0;
  #idleWaiters: (() => void)[] = [];
  readonly #closing = new AbortController();

  #log: HousekeepingLog = { warn() {} };

  constructor(
    private readonly options: HousekeepingOptions,
    private readonly observer: HousekeepingObserver = { finished() {} },
  ) {}

  /** Where failures and drops are logged (the app's logger exists only after the runner). */
  setLog(log: HousekeepingLog): void {
    this.#log = log;
  }

  /** Jobs waiting or running. */
  get size(): number {
    return this.#pending.length + this.#running;
  }

  /**
   * Queues a job; false when the same work already waits or runs (skipped), or when the queue is full
   * or the runner closed (counted as dropped).
   */
  enqueue(job: HousekeepingJob): boolean {
    const key = keyOf(job);
    if (this.#keys.has(key)) return false;
    if (this.#closing.signal.aborted || this.#pending.length >= this.options.maxPending) {
      this.observer.finished(job.kind, 'dropped', 0);
      this.#log.warn({ kind: job.kind, sessionId: job.sessionId }, 'housekeeping job dropped: queue full');
      return false;
    }
    this.#keys.add(key);
    this.#pending.push(job);
    this.#pump();
    return true;
  }

  /** Resolves when no job waits or runs (tests, shutdown). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Waits for the jobs under way and queued, at most `timeoutMs`; then aborts what is left. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
    await Promise.race([this.idle(), deadline]);
    clearTimeout(timer);
    this.close();
  }

  /** Drops what waits and aborts what runs. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    for (const job of this.#pending.splice(0)) {
      this.#keys.delete(keyOf(job));
      this.observer.finished(job.kind, 'dropped', 0);
    }
    this.#closing.abort();
    this.#settleIfIdle();
  }

  #pump(): void {
    while (this.#running < this.options.concurrency && this.#pending.length > 0) {
      const job = this.#pending.shift()!;
      this.#running += 1;
      void this.#run(job).finally(() => {
        this.#keys.delete(keyOf(job));
        this.#running -= 1;
        this.#pump();
        this.#settleIfIdle();
      });
    }
  }

  async #run(job: HousekeepingJob): Promise<void> {
    const started = performance.now();
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0 && !(await this.#pause(this.options.retryDelayMs * 2 ** (attempt - 1)))) break;
      try {
        await this.#attempt(job);
        this.observer.finished(job.kind, 'ok', (performance.now() - started) / 1000);
        return;
      } catch (error) {
        lastError = error;
        if (this.#closing.signal.aborted) break;
      }
    }
    this.observer.finished(job.kind, 'failed', (performance.now() - started) / 1000);
    this.#log.warn({ kind: job.kind, sessionId: job.sessionId, reason: reasonOf(lastError) }, 'housekeeping job failed');
  }

  /** One attempt, bounded by the timeout whether or not the job heeds its signal. */
  async #attempt(job: HousekeepingJob): Promise<void> {
    const timeout = new AbortController();
    const link = linkedSignal(timeout.signal, this.#closing.signal);
    const signal = link.signal;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timeout.abort();
        reject(new AttemptTimeout(`took longer than ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      onAbort = () => reject(new AttemptTimeout('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    // Whichever loses the race must not surface later as an unhandled rejection.
    expired.catch(() => undefined);
    try {
      await Promise.race([job.run(signal), expired]);
    } finally {
      clearTimeout(timer);
      // The runner's closing signal outlives every attempt: a listener left on it would keep the attempt alive.
      signal.removeEventListener('abort', onAbort!);
      link.dispose();
    }
  }

  /** Waits between attempts; false when the runner closed meanwhile. */
  #pause(ms: number): Promise<boolean> {
    const signal = this.#closing.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #settleIfIdle(): void {
    if (this.size > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

/** A failure's kind for the log: an error's name and code, never its text (it may quote the conversation). */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown';
  const failure = (error as { failure?: unknown }).failure;
  return typeof failure === 'string' ? `${error.name}:${failure}` : error.name;
}

const keyOf = (job: HousekeepingJob) => job.key ?? `${job.kind}:${job.sessionId}`;
