import OpenAI from 'openai';
import { LlmError, type Completion, type CompletionRequest, type Llm } from '../chat/llm.js';

export interface OpenAiLlmOptions {
  apiKey: string;
  /** Any OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp's server... */
  baseURL?: string | undefined;
  /** Per attempt, in milliseconds. */
  timeoutMs: number;
  /** The SDK retries connection errors, 408, 409, 429 and 5xx with backoff, honouring retry-after. */
  maxRetries: number;
  /** When set, used instead of each personality's model (servers that only host their own models). */
  modelOverride?: string | undefined;
}

/** Talks to an OpenAI-compatible chat completions API through the official SDK. */
export class OpenAiLlm implements Llm {
  readonly provider = 'openai';
  readonly #client: OpenAI;

  constructor(private readonly options: OpenAiLlmOptions) {
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
    });
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    try {
      const response = await this.#client.chat.completions.create(
        {
          model: this.options.modelOverride ?? request.model,
          messages: request.messages.map(({ role, content }) => ({ role, content })),
          temperature: request.temperature,
          max_tokens: request.maxTokens,
          presence_penalty: request.presencePenalty,
          frequency_penalty: request.frequencyPenalty,
        },
        { signal: request.signal },
      );
      const text = response.choices[0]?.message?.content;
      if (typeof text !== 'string' || text.trim() === '') {
        throw new LlmError('bad_response', 'the model returned an empty reply');
      }
      const usage = response.usage
        ? { promptTokens: response.usage.prompt_tokens, completionTokens: response.usage.completion_tokens }
        : null;
      return { text, usage };
    } catch (error) {
      throw toLlmError(error);
    }
  }
}

function toLlmError(error: unknown): LlmError {
  if (error instanceof LlmError) return error;
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new LlmError('timeout', 'the model did not answer in time', { cause: error });
  }
  if (error instanceof OpenAI.APIUserAbortError) {
    return new LlmError('unavailable', 'the request was cancelled', { cause: error });
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new LlmError('unavailable', 'could not reach the model server', { cause: error });
  }
  if (error instanceof OpenAI.RateLimitError) {
    return new LlmError('rate_limited', 'the model server is rate limiting requests', { cause: error });
  }
  if (error instanceof OpenAI.APIError) {
    return new LlmError('unavailable', `the model server answered ${error.status ?? 'an error'}`, { cause: error });
  }
  return new LlmError('bad_response', 'the model server sent an unexpected answer', { cause: error });
}
