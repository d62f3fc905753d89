import { Worker } from 'node:worker_threads';
import { LlmError, type Completion, type CompletionRequest, type Llm } from '../chat/llm.js';
import { threadModuleUrl } from '../thread-module-url.js';
import type { ModelThreadReply, ModelThreadRequest } from './model-thread.js';
import { ThreadMailbox } from './thread-mailbox.js';
import type { OpenAiLlmOptions } from './openai-llm.js';

interface Call {
  resolve: (completion: Completion) => void;
  reject: (error: unknown) => void;
  onDelta: ((text: string) => void) | undefined;
}

/**
 * The OpenAI adapter on a thread of its own (model-thread.ts). Building requests, parsing answers
 * and reading streams is most of a message's CPU cost here; on its own thread it no longer holds
 * up the event loop that answers clients.
 */
export class ThreadedLlm implements Llm {
  readonly provider = 'openai';
  #worker: Worker;
  #mailbox: ThreadMailbox<ModelThreadRequest>;
  readonly #calls = new Map<number, Call>();
  #nextId = 1;
  #closed = false;

  constructor(private readonly options: OpenAiLlmOptions) {
    this.#worker = this.#start();
    this.#mailbox = new ThreadMailbox(this.#worker);
  }

  #start(): Worker {
    const worker = new Worker(threadModuleUrl(import.meta.url, 'model-thread'), {
      workerData: this.options,
      resourceLimits: { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 128 },
    });
    // Calls under way keep the process alive; an idle model thread does not.
    worker.unref();
    worker.on('message', (replies: ModelThreadReply[]) => replies.forEach((reply) => this.#receive(reply)));
    worker.on('error', () => undefined); // followed by 'exit', handled there
    worker.on('exit', () => {
      if (this.#closed) return;
      // The thread died (out of memory, a bug): fail what it held and start a new one.
      this.#failAll(new LlmError('unavailable', 'the model thread stopped'));
      this.#worker = this.#start();
      this.#mailbox = new ThreadMailbox(this.#worker);
    });
    return worker;
  }

  complete(request: CompletionRequest): Promise<Completion> {
    const { signal, onDelta, ...rest } = request;
    if (signal?.aborted) return Promise.reject(new LlmError('unavailable', 'the request was cancelled'));
    const id = this.#nextId++;
    return new Promise<Completion>((resolve, reject) => {
      if (this.#calls.size === 0) this.#worker.ref();
      this.#calls.set(id, { resolve, reject, onDelta });
      this.#post({ type: 'complete', id, request: { ...rest, stream: onDelta !== undefined } });
      signal?.addEventListener('abort', () => this.#post({ type: 'abort', id }), { once: true });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#worker.terminate();
    this.#failAll(new LlmError('unavailable', 'the server is shutting down'));
  }

  #receive(reply: ModelThreadReply): void {
    if (reply.type === 'closed') return;
    const call = this.#calls.get(reply.id);
    if (!call) return;
    if (reply.type === 'delta') {
      call.onDelta?.(reply.text);
      return;
    }
    this.#calls.delete(reply.id);
    if (this.#calls.size === 0) this.#worker.unref();
    if (reply.type === 'done') return call.resolve(reply.completion);
    const cause = reply.cause === undefined ? undefined : new Error(reply.cause);
    call.reject(
      reply.failure === null
        ? Object.assign(new Error(reply.message), { cause })
        : new LlmError(reply.failure, reply.message, cause ? { cause } : undefined),
    );
  }

  #post(message: ModelThreadRequest): void {
    this.#mailbox.send(message);
  }

  #failAll(error: unknown): void {
    for (const call of this.#calls.values()) call.reject(error);
    this.#calls.clear();
  }
}
