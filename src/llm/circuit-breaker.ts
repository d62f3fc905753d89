import { isRequestFault, LlmError, type Completion, type CompletionRequest, type Llm } from '../chat/llm.js';

export interface BreakerOptions {
  /** Consecutive failed calls that open the circuit. */
  failures: number;
  /** How long an open circuit answers at once, before one trial call may go through. */
  resetMs: number;
  now?: () => number;
}

/**
 * Stops hammering a model that keeps failing: after `failures` failed calls in a row, calls fail at
 * once (LlmError 'circuit_open', answered 503 provider_unavailable) for `resetMs`; then one trial
 * call goes through, and its success closes the circuit again.
 */
export class CircuitBreakerLlm implements Llm {
  #failures = 0;
  #openUntil = 0;
  #trialRunning = false;
  readonly #now: () => number;

  constructor(
    private readonly inner: Llm,
    private readonly options: BreakerOptions,
  ) {
    this.#now = options.now ?? Date.now;
  }

  get provider(): string {
    return this.inner.provider;
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  unavailableNow(): LlmError | undefined {
    const open = this.#failures >= this.options.failures;
    if (!open || (this.#now() >= this.#openUntil && !this.#trialRunning)) return undefined;
    return new LlmError('circuit_open', 'the model failed repeatedly; calls are paused for a moment', {
      retryAfterMs: Math.max(0, this.#openUntil - this.#now()),
    });
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    const paused = this.unavailableNow();
    if (paused) throw paused;
    // Calls beside the conversation (titles) neither open nor close the circuit: a failing title
    // model must never turn people's replies away, and only a reply proves the model answers them.
    if (request.purpose === 'housekeeping') return this.inner.complete(request);
    const open = this.#failures >= this.options.failures;
    if (open) this.#trialRunning = true;
    try {
      const completion = await this.inner.complete(request);
      this.#failures = 0;
      return completion;
    } catch (error) {
      if (!isRequestFault(error)) {
        this.#failures += 1;
        if (this.#failures >= this.options.failures) this.#openUntil = this.#now() + this.options.resetMs;
      }
      throw error;
    } finally {
      if (open) this.#trialRunning = false;
    }
  }
}
