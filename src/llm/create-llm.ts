import type { Llm } from '../chat/llm.js';
import type { LlmConfig } from '../config.js';
import { CircuitBreakerLlm } from './circuit-breaker.js';
import { OfflineLlm } from './offline-llm.js';
import { ThreadedLlm } from './threaded-llm.js';

/** The configured model. On a thread, the SDK is loaded there only, not in the main thread's memory. */
export async function createLlm(config: LlmConfig): Promise<Llm> {
  if (config.provider === 'offline') return new OfflineLlm();
  const options = {
    apiKey: config.apiKey,
    baseURL: config.baseURL,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    deadlineMs: config.deadlineMs,
    modelOverride: config.model,
    fallbackModel: config.fallbackModel,
  };
  const openai = config.thread ? new ThreadedLlm(options) : new (await import('./openai-llm.js')).OpenAiLlm(options);
  return new CircuitBreakerLlm(openai, config.breaker);
}
