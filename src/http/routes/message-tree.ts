import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { messageNotFound } from '../../chat/turns.js';
import { errors, MAX_SEQ } from '../schemas/common.js';
import { SendMessageQuery, SessionDetail, SessionParams, TurnReply, turnReplyResponse } from '../schemas/chatbot.js';
import { EditBody, MessageParams, RegenerateBody, SelectQuery, TreePage, TreeQuery } from '../schemas/message-tree.js';
import { messageId, sessionDetail, treeMessageJson } from '../session-json.js';
import { answerTurn, type TurnAnswerOptions } from '../turn-answer.js';

export type MessageTreeRoutesOptions = TurnAnswerOptions;

const tags = ['chatbot'];

const TURN_RULES = `Answers as sending a message does (JSON, or Server-Sent Events with \`Accept: text/event-stream\`),
with \`message_id\` of the new reply; it waits behind the session's earlier sends, honours \`Idempotency-Key\`,
and counts toward the message rate limits and token allowance. Nothing is deleted: the earlier version stays in
the tree (\`sibling_ids\`, \`GET …/tree\`) and can be selected again.`;

/** A message id from the path; anything but one names no message. */
function seqOf(id: string): number {
  const seq = /^[1-9][0-9]{0,9}$/.test(id) ? Number(id) : 0;
  if (seq < 1 || seq > MAX_SEQ) throw messageNotFound();
  return seq;
}

/** The session as a tree: regenerate a reply, edit a question, switch branches, read every branch. */
export const messageTreeRoutes: FastifyPluginAsyncTypebox<MessageTreeRoutesOptions> = async (app, options) => {
  const { chat, limits } = options;

  app.post('/chatbot/session/:id/regenerate', {
    schema: {
      tags,
      summary: 'Ask again: a new version of a reply, made the end of the conversation',
      description: `\`message_id\` (optional) names a reply on the active path, by default the last one. The model gets
the same context that reply answered; the new reply becomes its sibling and the active leaf (\`message_count\` is
that of the reply's exchange). ${TURN_RULES}`,
      params: SessionParams,
      querystring: SendMessageQuery,
      body: RegenerateBody,
      response: { 200: turnReplyResponse(TurnReply), ...errors(401, 404, 409, 413, 422, 429, 502, 503, 504) },
    },
    preHandler: limits.messages,
    handler: (request, reply) => {
      const named = request.body?.message_id;
      const turn = { kind: 'regenerate' as const, messageSeq: named === undefined ? undefined : seqOf(named) };
      return answerTurn(options, request, reply, request.params.id, turn, request.query.stream);
    },
  });

  app.post('/chatbot/session/:id/messages/:message_id/edit', {
    schema: {
      tags,
      summary: 'Fix a question: a new version of a user message, then its reply',
      description: `\`message_id\` is a user message on the active path. The new message gets the same parent and
the model answers it; the two become the active path (which ends there). ${TURN_RULES}`,
      params: MessageParams,
      querystring: SendMessageQuery,
      body: EditBody,
      response: { 200: turnReplyResponse(TurnReply), ...errors(401, 404, 409, 413, 422, 429, 502, 503, 504) },
    },
    preHandler: limits.messages,
    handler: (request, reply) => {
      const turn = { kind: 'edit' as const, messageSeq: seqOf(request.params.message_id), text: request.body.message };
      return answerTurn(options, request, reply, request.params.id, turn, request.query.stream);
    },
  });

  app.post('/chatbot/session/:id/messages/:message_id/select', {
    schema: {
      tags,
      summary: 'Switch branch: make the path through a message the conversation',
      description:
        'The path from the first message through this one, continuing below it along the most recently created ' +
        'child at each step, becomes the active path (what the model sees next). Answers the session as GET does.',
      params: MessageParams,
      querystring: SelectQuery,
      response: { 200: SessionDetail, ...errors(401, 404, 409, 422) },
    },
    handler: async (request) => {
      const { id, message_id } = request.params;
      return sessionDetail(await chat.selectMessage(id, seqOf(message_id), request.query, request.caller));
    },
  });

  app.get('/chatbot/session/:id/tree', {
    schema: {
      tags,
      summary: 'Every message of the session, every branch, oldest first',
      params: SessionParams,
      querystring: TreeQuery,
      response: { 200: TreePage, ...errors(401, 404, 422) },
    },
    handler: async (request) => {
      const { id } = request.params;
      const { messages, hasMore } = await chat.readTree(id, { limit: request.query.limit, afterSeq: request.query.after }, request.caller);
      const last = messages.at(-1);
      return {
        success: true as const,
        session_id: id,
        messages: messages.map(treeMessageJson),
        has_more: hasMore,
        next_after: hasMore && last ? messageId(last.seq) : null,
      };
    },
  });
};
