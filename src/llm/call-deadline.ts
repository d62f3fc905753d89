import { LlmError } from '../chat/llm.js';

/** The most the call ends before its deadline, to leave time for the answer to travel. */
const ANSWER_MARGIN_MS = 500;

/**
 * One deadline for a whole model call: every attempt, the backoff between them and the fallback
 * model. Its `signal` cancels the attempt under way when it passes (or when the caller's own signal
 * aborts), and `race` fails the call at that moment, even while the SDK sleeps before a retry.
 * A streamed reply that has begun is freed from it (`lift`): from then on the client receives
 * pieces, and a stream that stalls is cut by the per-piece idle timeout instead.
 */
export class CallDeadline {
  readonly signal: AbortSignal;
  readonly #expired = new AbortController();
  readonly #endsAt: number;
  readonly #timer: NodeJS.Timeout | undefined;

  /**
   * `ms` from `startedAt` (default now); undefined: no deadline beyond each attempt's own timeout. The
   * call gives up a little before it (2%, at most half a second), so that its 504 reaches the client
   * before a proxy that waits just as long gives up on the request.
   */
  constructor(ms: number | undefined, callerSignal: AbortSignal | undefined, startedAt = Date.now()) {
    this.#endsAt = ms === undefined ? Infinity : startedAt + ms - Math.min(ANSWER_MARGIN_MS, ms * 0.02);
    if (ms !== undefined) this.#timer = setTimeout(() => this.#expired.abort(), Math.max(0, this.#endsAt - Date.now()));
    this.signal = callerSignal ? AbortSignal.any([callerSignal, this.#expired.signal]) : this.#expired.signal;
  }

  /** An attempt's timeout: `perAttemptMs`, or less when the deadline comes first. */
  attemptTimeout(perAttemptMs: number): number {
    return Math.max(1, Math.min(perAttemptMs, this.#endsAt - Date.now()));
  }

  get passed(): boolean {
    return this.#expired.signal.aborted;
  }

  /** The reply has begun streaming to the client: the deadline no longer applies. */
  lift(): void {
    clearTimeout(this.#timer);
  }

  /** `call`'s outcome, or a timeout as soon as the deadline passes. */
  race<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const expire = () => reject(new LlmError('timeout', 'the model did not answer within the deadline'));
      if (this.passed) expire();
      this.#expired.signal.addEventListener('abort', expire, { once: true });
      call.then(resolve, reject).finally(() => this.#expired.signal.removeEventListener('abort', expire));
    });
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}
