import { LlmError } from '../chat/llm.js';

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

  /** `ms` undefined: no deadline beyond each attempt's own timeout. */
  constructor(ms: number | undefined, callerSignal: AbortSignal | undefined) {
    this.#endsAt = ms === undefined ? Infinity : Date.now() + ms;
    if (ms !== undefined) this.#timer = setTimeout(() => this.#expired.abort(), ms);
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
