import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ChatError } from '../../chat/errors.js';
import type { ChatService } from '../../chat/session-service.js';
import type { ReplyLog } from '../../coordination/reply-log.js';
import type { rateLimitHooks } from '../rate-limits.js';
import { errors, MAX_SEQ } from '../schemas/common.js';
import { SessionParams } from '../schemas/chatbot.js';
import { EventStream } from '../sse.js';

export interface ReplyStreamRoutesOptions {
  chat: ChatService;
  replies: ReplyLog;
  limits: ReturnType<typeof rateLimitHooks>;
}

const StreamQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SEQ, description: 'Resume after this event id (as Last-Event-ID)' })),
});

const DESCRIPTION = `Attaches to the session's reply in progress, or to its last streamed reply if that finished less
than STREAM_RESUME_TTL_S ago: first every event after \`Last-Event-ID\` (header, or \`?after=N\`; none = from
the start), then the live ones, then \`done\` (the JSON the send call answered) or \`error\`. Each event has an
\`id:\`: deltas 1, 2, 3…, the last event the next number, so the pieces received across any number of
reconnects, concatenated, are the stored reply. 204 when there is no such reply. With Redis, any instance
serves it. Several clients may attach at once; only the session's owner can (404 otherwise).`;

/** A Last-Event-ID header, when sent: the id of the last event the client has. */
function lastEventIdOf(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^[0-9]{1,10}$/.test(text.trim()) || Number(text) > MAX_SEQ) {
    throw new ChatError('invalid_cursor', 'Last-Event-ID must be the id of an event of this stream (a number).');
  }
  return Number(text);
}

/** Streams that survive a dropped connection: attach to a reply from anywhere, lose nothing, repeat nothing. */
export const replyStreamRoutes: FastifyPluginAsyncTypebox<ReplyStreamRoutesOptions> = async (app, { chat, replies, limits }) => {
  app.get('/chatbot/session/:id/stream', {
    schema: {
      tags: ['chatbot'],
      summary: 'Attach to the reply in progress (or just finished), from where the client left off',
      description: DESCRIPTION,
      params: SessionParams,
      querystring: StreamQuery,
      response: {
        200: { description: 'The reply as Server-Sent Events', content: { 'text/event-stream': { schema: Type.String() } } },
        204: { description: 'No reply in progress or kept', type: 'null' },
        ...errors(401, 404, 422, 429),
      },
    },
    preHandler: limits.messages,
    handler: async (request, reply) => {
      const { id } = request.params;
      await chat.visibleSession(id, request.caller);
      const after = lastEventIdOf(request.headers['last-event-id']) ?? request.query.after ?? 0;
      const gone = new AbortController();
      reply.raw.on('close', () => gone.abort());
      const events = await replies.attach(id, after, gone.signal);
      if (!events) return reply.code(204).send(null);
      const release = await limits.streamSlot(request, reply);
      if (!release) {
        gone.abort();
        return reply;
      }
      const stream = new EventStream(request, reply);
      try {
        for await (const event of events) {
          stream.send(event.event, event.data, event.id);
          if (stream.closed) break;
        }
      } finally {
        gone.abort();
        release();
        stream.end();
      }
      return reply;
    },
  });
};
