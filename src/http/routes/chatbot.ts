import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SessionDirectory } from '../../chat/session-directory.js';
import type { PersonalityService } from '../../chat/personality-service.js';
import { userOf } from '../auth.js';
import { errors } from '../schemas/common.js';
import { chatReply, sessionDetail, sessionJson, usageJson } from '../session-json.js';
import { answerTurn, type TurnAnswerOptions } from '../turn-answer.js';
import {
  ChatReply,
  CreateSessionBody,
  EndReply,
  HistoryQuery,
  PersonalitySummaries,
  RenameSessionBody,
  SendMessageBody,
  SendMessageQuery,
  SessionDetail,
  SessionList,
  SessionListQuery,
  SessionParams,
  turnReplyResponse,
  UsageQuery,
  UserUsage,
} from '../schemas/chatbot.js';

export interface ChatbotRoutesOptions extends TurnAnswerOptions {
  /** The session list, search and renames. */
  directory: SessionDirectory;
  personalities: PersonalityService;
}

const tags = ['chatbot'];

const SEND_DESCRIPTION = `Messages to one session are answered one at a time, in arrival order, each seeing the exchange
before it. A failed model call stores nothing: the conversation stays as it was and the same text can be sent again.

**Streaming.** With \`Accept: text/event-stream\` or \`?stream=true\` the answer is a stream of Server-Sent Events:

- \`event: delta\` with \`data: {"text": "..."}\`: the next piece of the reply, as the model produces it;
- then exactly one of \`event: done\` with \`data:\` the same JSON the non-streaming call returns, or
  \`event: error\` with \`data: {"code": "...", "message": "..."}\` (for example \`provider_error\`).

The stored reply is exactly the concatenation of the deltas. A client that disconnects mid-stream loses nothing:
the reply is completed and stored, and reading the session shows it whole. Unknown or ended sessions and bad
input are refused before the stream starts, with the usual status and JSON error body, and so is a send while
the model is paused after repeated failures (503 \`provider_unavailable\` with \`Retry-After\`).

A request the model server refuses as such (a content filter, a context too long, an unknown model) is answered
422 \`model_refused\` (in a stream: its \`error\` event) with the server's reason; it is not retried.

A JSON answer carries a \`Server-Timing\` header: \`prepare\` (queueing behind earlier sends, loading the session,
building the context), \`model\` (the model call), \`store\` (the durable write) and \`total\`, in milliseconds.`;

/** The seed's session API: create, send, read, list, end. */
export const chatbotRoutes: FastifyPluginAsyncTypebox<ChatbotRoutesOptions> = async (app, options) => {
  const { chat, directory, personalities, limits } = options;
  app.post('/chatbot/session', {
    schema: {
      tags,
      summary: 'Start a session with a personality',
      body: CreateSessionBody,
      response: { 200: ChatReply, ...errors(401, 403, 404, 413, 422, 429) },
    },
    preHandler: limits.sessions,
    handler: async (request) => {
      const userId = userOf(request, request.body.user_id);
      const session = await chat.createSession(userId, request.body.template_id ?? undefined);
      return chatReply(session, { message: 'Session created successfully' });
    },
  });

  app.post('/chatbot/session/:id/message', {
    schema: {
      tags,
      summary: 'Send a message and get the reply, whole or streamed',
      description: SEND_DESCRIPTION,
      params: SessionParams,
      querystring: SendMessageQuery,
      body: SendMessageBody,
      response: { 200: turnReplyResponse(ChatReply), ...errors(401, 404, 409, 413, 422, 429, 502, 503, 504) },
    },
    preHandler: limits.messages,
    handler: (request, reply) =>
      answerTurn(options, request, reply, request.params.id, { kind: 'send', text: request.body.message }, request.query.stream),
  });

  app.get('/chatbot/session/:id', {
    schema: {
      tags,
      summary: 'A session and a page of its history',
      params: SessionParams,
      querystring: HistoryQuery,
      response: { 200: SessionDetail, ...errors(404, 422) },
    },
    handler: async (request) => sessionDetail(await chat.getSession(request.params.id, request.query, request.caller)),
  });

  app.patch('/chatbot/session/:id', {
    schema: {
      tags,
      summary: 'Rename a session',
      description: 'Sets the title, also of an ended session; a title being generated never overwrites it. Answers the session as GET does.',
      params: SessionParams,
      body: RenameSessionBody,
      response: { 200: SessionDetail, ...errors(404, 422) },
    },
    handler: async (request) => {
      await directory.rename(request.params.id, request.body.title, request.caller);
      return sessionDetail(await chat.getSession(request.params.id, { limit: 100 }, request.caller));
    },
  });

  app.get('/chatbot/sessions', {
    schema: {
      tags,
      summary: "A user's sessions, newest first; with q, those that contain its words",
      querystring: SessionListQuery,
      response: { 200: SessionList, ...errors(422) },
    },
    handler: async (request) => {
      const { limit, cursor, q } = request.query;
      const userId = userOf(request, request.query.user_id);
      const page =
        q === undefined || q.trim() === ''
          ? await directory.list(userId, { limit, cursor })
          : await directory.search(userId, q, { limit, cursor });
      return { success: true as const, sessions: page.items.map(sessionJson), next_cursor: page.nextCursor };
    },
  });

  app.get('/chatbot/usage', {
    schema: {
      tags,
      summary: "Tokens the model reported for a user's sessions",
      querystring: UsageQuery,
      response: { 200: UserUsage, ...errors(401, 403, 422) },
    },
    handler: async (request) => {
      const userId = userOf(request, request.query.user_id);
      const { sessions, memoryTokens, ...usage } = await chat.userUsage(userId);
      return { success: true as const, user_id: userId, sessions, ...usageJson(usage, memoryTokens) };
    },
  });

  app.delete('/chatbot/session/:id', {
    schema: {
      tags,
      summary: 'End a session',
      params: SessionParams,
      response: { 200: EndReply, ...errors(404, 409) },
    },
    handler: async (request) => {
      const { session, durationSeconds } = await chat.endSession(request.params.id, request.caller);
      return {
        ...chatReply(session, { message: 'Session ended successfully' }),
        stats: { duration_seconds: durationSeconds, message_count: session.messageCount },
      };
    },
  });

  app.get('/chatbot/personalities', {
    schema: { tags, summary: 'Personality ids and descriptions, and the default', response: { 200: PersonalitySummaries } },
    handler: async () => {
      const all = await personalities.list();
      return {
        success: true as const,
        personalities: Object.fromEntries(all.map((p) => [p.id, p.description])),
        default: personalities.defaultPersonalityId,
      };
    },
  });
};

