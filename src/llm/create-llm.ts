import type { Llm } from '../chat/llm.js';
import type { LlmConfig } from '../config.js';
import { CircuitBreakerLlm } from './circuit-breaker.js';
import { OfflineLlm } from './offline-llm.js';
import { OpenAiLlm } from './openai-llm.js';
import { ThreadedLlm } from './threaded-llm.js';

export function createLlm(config: LlmConfig): Llm {
  if (config.provider === 'offline') return new OfflineLlm();
  const options = {
    apiKey: config.apiKey,
    baseURL: config.baseURL,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    modelOverride: config.model,
    fallbackModel: config.fallbackModel,
  };
  const openai = config.thread ? new ThreadedLlm(options) : new OpenAiLlm(options);
  return new CircuitBreakerLlm(openai, config.breaker);
}
