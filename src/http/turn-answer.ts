import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChatService, ExchangeResult } from '../chat/session-service.js';
import type { Turn } from '../chat/turns.js';
import { streamErrorOf } from './error-handler.js';
import { idempotencyKeyOf } from './idempotency-key.js';
import type { rateLimitHooks } from './rate-limits.js';
import type { ChatReply, TurnReply } from './schemas/chatbot.js';
import { serverTimingOf } from './server-timing.js';
import { chatReply, messageId } from './session-json.js';
import { EventStream, wantsEventStream } from './sse.js';
import type { ReplyLog, ReplyWriter } from '../coordination/reply-log.js';

export interface TurnAnswerOptions {
  chat: ChatService;
  /** Where streamed replies are kept for clients that attach later (GET …/stream). */
  replies: ReplyLog;
  limits: ReturnType<typeof rateLimitHooks>;
  /** LOG_CONTENT: also log what was said (never otherwise). */
  logContent: boolean;
  /** Told the code of every failure inside a stream (its HTTP status was already 200). */
  onStreamError: (code: string) => void;
}

/**
 * Answers a turn (send, regenerate, edit) as the send call does: JSON once the reply is stored, or
 * Server-Sent Events (deltas, then done or error) when the client asks for a stream. Whatever the
 * model cannot answer without a call (unknown or ended session, bad input, a paused model) is refused
 * with a plain status first. Undefined when the reply has been sent here (a stream, or a 429).
 */
export async function answerTurn(
  { chat, replies, limits, logContent, onStreamError }: TurnAnswerOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  sessionId: string,
  turn: Turn,
  stream: boolean | undefined,
): Promise<ChatReply | TurnReply | undefined> {
  const idempotencyKey = idempotencyKeyOf(request);
  const answer = (result: ExchangeResult): ChatReply | TurnReply => {
    if (logContent) request.log.info({ session_id: sessionId, turn, reply: result.reply }, 'exchange');
    const usage = result.replayed ? undefined : result.messages.at(-1)?.usage;
    if (usage) limits.spendTokens(result.session.userId, usage.promptTokens + usage.completionTokens);
    const reply = { ...chatReply(result.session, { response: result.reply }), message_count: result.messageCount };
    // A send answers exactly as the seed's did; a new version says where it is.
    if (turn.kind === 'send') return reply;
    const last = result.messages.at(-1);
    return { ...reply, message_id: last ? messageId(last.seq) : null };
  };
  if (!wantsEventStream(request, stream)) {
    const result = await chat.ask(sessionId, turn, { caller: request.caller, idempotencyKey });
    if (result.replayed) reply.header('idempotent-replayed', 'true');
    if (result.timings) reply.header('server-timing', serverTimingOf(result.timings, reply.elapsedTime));
    return answer(result);
  }
  await chat.checkTurn(sessionId, turn, request.caller, idempotencyKey);
  const release = await limits.streamSlot(request, reply);
  if (!release) return undefined;
  const events = new EventStream(request, reply);
  const kept = new KeptReply(replies, sessionId);
  const delta = (text: string) => events.send('delta', { text }, kept.delta(text));
  Promise.resolve()
    .then(() => chat.ask(sessionId, turn, { caller: request.caller, idempotencyKey, onDelta: delta }))
    .then(async (result) => {
      // A replayed answer arrives whole: send it as one piece so clients that render deltas show it.
      if (result.replayed) delta(result.reply);
      const done = answer(result);
      events.send('done', done, await kept.finish('done', done));
    })
    .catch(async (error: unknown) => {
      const failure = streamErrorOf(error, request.log);
      onStreamError(failure.code);
      events.send('error', failure, await kept.finish('error', failure).catch(() => undefined));
    })
    .finally(() => {
      release();
      events.end();
    });
  return undefined;
}

/**
 * A streamed reply as attaching clients see it: numbered like the SSE ids, begun at its first event
 * (a turn queued behind another does not displace the reply still running before it).
 */
class KeptReply {
  #writer: ReplyWriter | undefined;
  #count = 0;

  constructor(
    private readonly replies: ReplyLog,
    private readonly sessionId: string,
  ) {}

  /** Keeps a piece; its id. */
  delta(text: string): number {
    this.#writer ??= this.replies.begin(this.sessionId);
    this.#writer.delta(text);
    return ++this.#count;
  }

  /** Keeps the last event (once it is written, an attached client can read it); its id. */
  async finish(event: 'done' | 'error', data: unknown): Promise<number> {
    this.#writer ??= this.replies.begin(this.sessionId);
    await this.#writer.finish(event, data);
    return ++this.#count;
  }
}
