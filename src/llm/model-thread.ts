/**
 * The model thread: runs the OpenAI SDK, so the main thread spends no time building requests,
 * parsing answers or reading streams. It answers ThreadedLlm's requests (see threaded-llm.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CompletionRequest } from '../chat/llm.js';
import { LlmError } from '../chat/llm.js';
import { OpenAiLlm, type OpenAiLlmOptions } from './openai-llm.js';
import { ThreadMailbox } from './thread-mailbox.js';

/** A completion request as it crosses threads: no callbacks, no signal. */
export type ThreadRequest = Omit<CompletionRequest, 'signal' | 'onDelta'> & { stream: boolean };

export type ModelThreadRequest =
  | { type: 'complete'; id: number; request: ThreadRequest }
  | { type: 'abort'; id: number }
  | { type: 'close' };

export type ModelThreadReply =
  | { type: 'delta'; id: number; text: string }
  | { type: 'done'; id: number; completion: Awaited<ReturnType<OpenAiLlm['complete']>> }
  | { type: 'failed'; id: number; failure: LlmError['failure'] | null; message: string; cause: string | undefined }
  | { type: 'closed' };

const llm = new OpenAiLlm(workerData as OpenAiLlmOptions);
const port = parentPort!;
const running = new Map<number, AbortController>();

const replies = new ThreadMailbox<ModelThreadReply>(port);
const send = (reply: ModelThreadReply) => replies.send(reply);

async function complete(id: number, { stream, ...request }: ThreadRequest): Promise<void> {
  const abort = new AbortController();
  running.set(id, abort);
  try {
    const completion = await llm.complete({
      ...request,
      signal: abort.signal,
      onDelta: stream ? (text) => send({ type: 'delta', id, text }) : undefined,
    });
    send({ type: 'done', id, completion });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `${error.cause.name}: ${error.cause.message}` : undefined;
    send({
      type: 'failed',
      id,
      failure: error instanceof LlmError ? error.failure : null,
      message: error instanceof Error ? error.message : String(error),
      cause,
    });
  } finally {
    running.delete(id);
  }
}

port.on('message', (batch: ModelThreadRequest[]) => batch.forEach(receive));

function receive(message: ModelThreadRequest): void {
  if (message.type === 'complete') void complete(message.id, message.request);
  else if (message.type === 'abort') running.get(message.id)?.abort();
  else {
    for (const abort of running.values()) abort.abort();
    send({ type: 'closed' });
    replies.flush();
  }
}
