import OpenAI from 'openai';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { linkedSignal } from '../chat/linked-signal.js';
import { CallDeadline } from './call-deadline.js';
import { createModelFetch } from './http-fetch.js';
import { isRequestFault, LlmError, type Completion, type CompletionRequest, type Llm } from '../chat/llm.js';

export interface OpenAiLlmOptions {
  apiKey: string;
  /** Any OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp's server... */
  baseURL?: string | undefined;
  /** Per attempt, in milliseconds; an attempt never outlives `deadlineMs`. */
  timeoutMs: number;
  /**
   * For the whole call (every attempt, the backoff between them, the fallback model), in
   * milliseconds, until a streamed reply begins. Unset: only the per-attempt timeout applies.
   */
  deadlineMs?: number | undefined;
  /** The SDK retries connection errors, 408, 409, 429 and 5xx with backoff, honouring retry-after. */
  maxRetries: number;
  /** When set, used instead of each personality's model (servers that only host their own models). */
  modelOverride?: string | undefined;
  /** Tried once when the model fails (after its retries), unless part of a streamed reply was already sent. */
  fallbackModel?: string | undefined;
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
      fetch: createModelFetch(),
    });
  }

  async complete(request: CompletionRequest): Promise<Completion> {
    const deadline = new CallDeadline(this.options.deadlineMs, request.signal, request.waitedMs);
    try {
      return await deadline.race(this.#completeWithFallback(request, deadline));
    } finally {
      deadline.dispose();
    }
  }

  async #completeWithFallback(request: CompletionRequest, deadline: CallDeadline): Promise<Completion> {
    const model = request.purpose === 'housekeeping' ? request.model : (this.options.modelOverride ?? request.model);
    let streamed = false;
    const onDelta = request.onDelta
      ? (text: string) => {
          if (!streamed) deadline.lift();
          streamed = true;
          request.onDelta!(text);
        }
      : undefined;
    try {
      return await this.#completeWith(model, { ...request, onDelta }, deadline);
    } catch (error) {
      const fallback = this.options.fallbackModel;
      const worthAnotherModel = error instanceof LlmError && !isRequestFault(error);
      if (!fallback || fallback === model || streamed || !worthAnotherModel || deadline.signal.aborted) throw error;
      return this.#completeWith(fallback, { ...request, onDelta }, deadline);
    }
  }

  async #completeWith(model: string, request: CompletionRequest, deadline: CallDeadline): Promise<Completion> {
    const body = {
      model,
      messages: request.messages.map(({ role, content }) => ({ role, content })),
      temperature: request.temperature,
      max_tokens: request.maxTokens,
      presence_penalty: request.presencePenalty,
      frequency_penalty: request.frequencyPenalty,
      ...(request.responseSchema
        ? { response_format: { type: 'json_schema' as const, json_schema: { name: request.responseSchema.name, schema: request.responseSchema.schema, strict: true } } }
        : {}),
    };
    try {
      const attempt = { signal: deadline.signal, timeout: deadline.attemptTimeout(this.options.timeoutMs) };
      const completion = request.onDelta ? await this.#stream(body, request.onDelta, attempt) : await this.#once(body, attempt);
      if (completion.text.trim() === '') throw new LlmError('bad_response', 'the model returned an empty reply');
      return completion;
    } catch (error) {
      throw toLlmError(error);
    }
  }

  async #once(body: ChatCompletionCreateParamsNonStreaming, attempt: Attempt): Promise<Completion> {
    const response = await this.#client.chat.completions.create(body, attempt);
    const text = response.choices[0]?.message?.content;
    return { text: typeof text === 'string' ? text : '', usage: usageOf(response.usage) };
  }

  /**
   * The SDK's timeout covers the wait for the answer to start; a stream that then goes silent is
   * cut off once no piece has arrived for `timeoutMs`. A reply is whole only once the model said
   * why it stopped (finish_reason): a body that just ends is a reply cut short.
   */
  async #stream(body: ChatCompletionCreateParamsNonStreaming, onDelta: (text: string) => void, attempt: Attempt): Promise<Completion> {
    const stall = new AbortController();
    const link = linkedSignal(attempt.signal, stall.signal);
    const combined = link.signal;
    let idle: NodeJS.Timeout | undefined;
    const expectMore = () => {
      clearTimeout(idle);
      idle = setTimeout(() => stall.abort(), this.options.timeoutMs);
    };
    try {
      const stream = await this.#client.chat.completions.create(
        { ...body, stream: true, stream_options: { include_usage: true } },
        { signal: combined, timeout: attempt.timeout },
      );
      let text = '';
      let usage: Completion['usage'] = null;
      let finished = false;
      expectMore();
      for await (const chunk of stream) {
        expectMore();
        const piece = chunk.choices[0]?.delta?.content;
        if (piece) {
          text += piece;
          onDelta(piece);
        }
        if (chunk.choices[0]?.finish_reason) finished = true;
        if (chunk.usage) usage = usageOf(chunk.usage);
      }
      // The SDK ends an aborted stream quietly: a cut-off reply must not pass for a whole one.
      if (combined.aborted) throw new OpenAI.APIUserAbortError();
      if (!finished) throw new LlmError('unavailable', 'the model’s reply broke off before it was finished');
      return { text, usage };
    } catch (error) {
      if (stall.signal.aborted) throw new LlmError('timeout', 'the model stopped sending its reply', { cause: error });
      // The connection dropped mid-reply (the SDK's own errors and unparsable data are mapped below).
      if (!(error instanceof OpenAI.OpenAIError || error instanceof LlmError || error instanceof SyntaxError)) {
        throw new LlmError('unavailable', 'the model’s reply broke off before it was finished', { cause: error });
      }
      throw error;
    } finally {
      clearTimeout(idle);
      link.dispose();
    }
  }
}

interface Attempt {
  signal: AbortSignal;
  timeout: number;
}

/** Statuses with which a provider refuses the request itself (content filter, context too long, unknown model or parameter). */
const REFUSAL_STATUSES = new Set([400, 404, 413, 422]);
/** The provider's reason goes to the client: on one line, and at most this long. */
const MAX_REASON_LENGTH = 300;

function usageOf(usage: CompletionUsage | null | undefined): Completion['usage'] {
  return usage ? { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens } : null;
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
  if (error instanceof OpenAI.APIError && error.status !== undefined && REFUSAL_STATUSES.has(error.status)) {
    return new LlmError('refused', reasonOf(error), { cause: error });
  }
  if (error instanceof OpenAI.APIError) {
    return new LlmError('unavailable', `the model server answered ${error.status ?? 'an error'}`, { cause: error });
  }
  return new LlmError('bad_response', 'the model server sent an unexpected answer', { cause: error });
}

/** The provider's own words for a refusal (OpenAI's `{"error": {"message"}}`), on one line and bounded. */
function reasonOf(error: InstanceType<typeof OpenAI.APIError>): string {
  const said = (error.error as { message?: unknown } | undefined)?.message;
  const line = typeof said === 'string' ? said.replace(/\s+/g, ' ').trim() : '';
  if (line === '') return `the model server answered ${error.status} without a reason`;
  return line.length > MAX_REASON_LENGTH ? `${line.slice(0, MAX_REASON_LENGTH - 1)}…` : line;
}
