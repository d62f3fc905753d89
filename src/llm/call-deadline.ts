import { linkedSignal } from '../chat/linked-signal.js';
import { LlmError } from '../chat/llm.js';

/** The most the call ends before its deadline, to leave time for the answer to travel. */
const ANSWER_MARGIN_MS = 500;
/** How long after the deadline an attempt that it bounds would time out by itself. */
const DEADLINE_FIRST_BY_MS = 100;

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
  readonly #link: { dispose(): void } | undefined;
  readonly #endsAt: number;
  readonly #timer: NodeJS.Timeout | undefined;
  #lifted = false;

  /**
   * `ms`, of which `waitedMs` are already gone; undefined: no deadline beyond each attempt's own timeout. The
   * call gives up a little before it (2%, at most half a second), so that its 504 reaches the client
   * before a proxy that waits just as long gives up on the request.
   */
  constructor(ms: number | undefined, callerSignal: AbortSignal | undefined, waitedMs = 0) {
    this.#endsAt = ms === undefined ? Infinity : Date.now() - waitedMs + ms - Math.min(ANSWER_MARGIN_MS, ms * 0.02);
    const left = this.#endsAt - Date.now();
    // A message that waited longer than its deadline: the call fails before it reaches the model.
    if (left <= 0) this.#expired.abort();
    else if (ms !== undefined) this.#timer = setTimeout(() => this.#expired.abort(), left);
    if (callerSignal) {
      const link = linkedSignal(callerSignal, this.#expired.signal);
      this.signal = link.signal;
      this.#link = link;
    } else this.signal = this.#expired.signal;
  }

  /**
   * An attempt's timeout: `perAttemptMs`, or when the deadline comes first, just after it: the
   * deadline then cuts the attempt (a timeout), and the two timers never race each other.
   */
  attemptTimeout(perAttemptMs: number): number {
    const left = this.#endsAt - Date.now();
    // Whole milliseconds: the SDK refuses any other timeout.
    return left < perAttemptMs ? Math.max(1, Math.ceil(left)) + DEADLINE_FIRST_BY_MS : perAttemptMs;
  }

  get passed(): boolean {
    return this.#expired.signal.aborted;
  }

  /** The reply has begun streaming to the client: the deadline no longer applies. */
  lift(): void {
    this.#lifted = true;
    clearTimeout(this.#timer);
  }

  /** `call`'s outcome, or a timeout as soon as the deadline passes. */
  race<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const expire = () => reject(new LlmError('timeout', 'the model did not answer within the deadline'));
      if (this.passed) expire();
      this.#expired.signal.addEventListener('abort', expire, { once: true });
      // A failure once the deadline is up is the deadline's doing (an attempt cut short by it).
      const fail = (error: unknown) => (!this.#lifted && (this.passed || Date.now() >= this.#endsAt) ? expire() : reject(error));
      call.then(resolve, fail).finally(() => this.#expired.signal.removeEventListener('abort', expire));
    });
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#link?.dispose();
  }
}
