import type { ModelSettings, TokenUsage } from './types.js';

export type { TokenUsage };

/** A message as the model receives it: role and content only. */
export interface ModelMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest extends ModelSettings {
  /** System prompt first, then the conversation, ending with the new user message. */
  messages: ModelMessage[];
  /** Who is speaking; adapters that fake a model (offline) use it, real ones ignore it. */
  persona: { id: string; name: string };
  signal?: AbortSignal | undefined;
  /** When given, the reply is streamed: called with each piece of text as the model produces it. */
  onDelta?: ((text: string) => void) | undefined;
  /**
   * `housekeeping`: a call beside the conversation (a title) whose `model` is already the one to
   * use (MEMORY_MODEL), so adapters do not replace it with their own override.
   */
  purpose?: 'reply' | 'housekeeping' | undefined;
  /**
   * Structured output: the answer must be JSON of this schema (`response_format: json_schema`, which
   * OpenAI, vLLM, Ollama and llama.cpp's server honour). The caller still checks what comes back.
   */
  responseSchema?: { name: string; schema: Record<string, unknown> } | undefined;
  /**
   * How long the message already waited before this call (queued behind earlier sends of the session,
   * prepared), in ms: it counts against the call's deadline. A duration, not a time, so it means the
   * same on any thread and whatever the wall clock does meanwhile.
   */
  waitedMs?: number | undefined;
}


export interface Completion {
  text: string;
  usage: TokenUsage | null;
}

/**
 * `refused`: the provider turned the request itself down (400, 404, 413, 422: a content filter, a
 * context too long, an unknown model or parameter). Its message is the provider's reason. Trying
 * again, or another model, would not help, and it says nothing about the provider's health.
 */
export type LlmFailure = 'timeout' | 'rate_limited' | 'unavailable' | 'bad_response' | 'circuit_open' | 'refused';

/** Raised by every Llm implementation, so the domain never sees an SDK's own errors. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  /** How long until trying again makes sense, when the adapter knows (an open circuit). */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly failure: LlmFailure,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/**
 * A failure that is the request's own doing (an empty reply, a request the provider refused), not the
 * model's: it says nothing about the model's health, and another model would not do better.
 */
export function isRequestFault(error: unknown): boolean {
  return error instanceof LlmError && (error.failure === 'bad_response' || error.failure === 'refused');
}

/** A chat model. Implementations live in src/llm. */
export interface Llm {
  /** "openai" or "offline": shown by /ready. */
  readonly provider: string;
  /** The whole reply; streamed piece by piece to `request.onDelta` when that is set. */
  complete(request: CompletionRequest): Promise<Completion>;
  /** The error a call made now would fail with at once, without being tried (an open circuit). */
  unavailableNow?(): LlmError | undefined;
  /** Lets go of what the adapter holds (a thread, connections); calls under way fail. */
  close?(): Promise<void>;
}
