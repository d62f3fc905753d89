import type { Completion, CompletionRequest, Llm } from '../chat/llm.js';
import { LlmError } from '../chat/llm.js';
import type { Metrics } from '../metrics.js';

/** Any Llm, measured: call latency by outcome, time to first token, and the tokens reported. */
export class MeteredLlm implements Llm {
  constructor(
    private readonly inner: Llm,
    private readonly metrics: Metrics,
  ) {}

  get provider(): string {
    return this.inner.provider;
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  unavailableNow(): LlmError | undefined {
    return this.inner.unavailableNow?.();
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    // Housekeeping (titles) has its own timing metric: model latency stays that of replies. Tokens count all calls.
    const timed = request.purpose !== 'housekeeping';
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let first = true;
    const onDelta = request.onDelta
      ? (text: string) => {
          if (first) {
            first = false;
            this.metrics.modelFirstToken.observe(seconds());
          }
          request.onDelta!(text);
        }
      : undefined;
    try {
      const completion = await this.inner.complete({ ...request, onDelta });
      if (timed) this.metrics.modelDuration.observe({ outcome: 'ok' }, seconds());
      if (completion.usage) {
        this.metrics.tokens.inc({ kind: 'prompt' }, completion.usage.promptTokens);
        this.metrics.tokens.inc({ kind: 'completion' }, completion.usage.completionTokens);
      }
      return completion;
    } catch (error) {
      if (timed) this.metrics.modelDuration.observe({ outcome: error instanceof LlmError ? error.failure : 'error' }, seconds());
      throw error;
    }
  }
}
