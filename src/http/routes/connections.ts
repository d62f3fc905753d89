import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Type } from 'typebox';
import { ChatError } from '../../chat/errors.js';
import { isUuid } from '../../chat/session-rules.js';
import type { ConnectionService } from '../../people/connection-service.js';
import type { ConnectionCursor } from '../../people/connection-store.js';
import { userOf, viewerOf } from '../auth.js';
import { idempotencyKeyOf } from '../idempotency-key.js';
import { errors } from '../schemas/common.js';
import {
  ConnectionListItem,
  ConnectionListQuery,
  ConnectionParams,
  connectionJson,
  CreateConnectionBody,
  listItemJson,
  messageJson,
  MessagesQuery,
  ReadBody,
  ReadReply,
  SendBody,
  ViewerQuery,
} from '../schemas/connections.js';

export interface ConnectionRoutesOptions {
  connections: ConnectionService;
  /** Abuse limit on messages (429 with Retry-After); undefined when off. */
  limitMessages?: preHandlerAsyncHookHandler | undefined;
  /** Abuse limit on read receipts; undefined when off. */
  limitReadReceipts?: preHandlerAsyncHookHandler | undefined;
  /** Abuse limit on new connections, given back when a request creates none; undefined when off. */
  limitNewConnections?: { check: preHandlerAsyncHookHandler; notCreated: (request: FastifyRequest) => void } | undefined;
}

const tags = ['people'];
const ConnectionRef = Type.Ref('Connection');
const MessageRef = Type.Ref('ConnectionMessage');

/** An opaque place in a list of connections: the last one's activity and id. */
const cursorOf = (connection: { lastActivity: string; id: string }) =>
  Buffer.from(JSON.stringify([connection.lastActivity, connection.id])).toString('base64url');

/**
 * What cursorOf writes and no more: an instant as toISOString() gives it, in years 1 to 9999 (any
 * other date text compares differently in each store, or does not fit PostgreSQL's timestamptz), and
 * a connection id.
 */
const CURSOR_INSTANT = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const isCursorInstant = (text: string) => CURSOR_INSTANT.test(text) && new Date(text).toISOString() === text;

function cursorFrom(cursor: string): ConnectionCursor {
  try {
    const [lastActivity, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof lastActivity === 'string' && isCursorInstant(lastActivity) && typeof id === 'string' && isUuid(id)) {
      return { lastActivity, id };
    }
  } catch {
    // answered below
  }
  throw new ChatError('invalid_cursor', 'cursor must be the X-Next-Cursor header of a previous page.');
}

/** User-to-user chat: connections between two people and the messages they send each other. */
export const connectionRoutes: FastifyPluginAsyncTypebox<ConnectionRoutesOptions> = async (
  app,
  { connections, limitMessages, limitReadReceipts, limitNewConnections },
) => {
  app.post('/connections', {
    schema: {
      tags,
      summary: 'Connect two users',
      description:
        'Answers 201 with a new connection, or 200 with the active one the two users already have (in either order). ' +
        'Only new connections count against the per-user hourly limit.',
      body: CreateConnectionBody,
      response: { 200: ConnectionRef, 201: ConnectionRef, ...errors(400, 401, 403, 413, 422, 429) },
    },
    preHandler: limitNewConnections?.check,
    handler: async (request, reply) => {
      const signedIn = request.caller.userId;
      const { user1_id: named1, user2_id: user2 } = request.body;
      const user1 = named1 ?? signedIn;
      let result: Awaited<ReturnType<ConnectionService['create']>> | undefined;
      try {
        if (user1 === undefined) throw new ChatError('user_required', 'user1_id is required.');
        if (signedIn !== undefined && user1 !== signedIn && user2 !== signedIn) {
          throw new ChatError('user_mismatch', 'One of the two users must be the signed-in user.');
        }
        result = await connections.create(user1, user2);
      } finally {
        // Re-opening the connection two users already have (or a refusal) is not a new one.
        if (!result?.created) limitNewConnections?.notCreated(request);
      }
      return reply.code(result.created ? 201 : 200).send(connectionJson(result.connection));
    },
  });

  app.get('/connections', {
    schema: {
      tags,
      summary: "A user's connections, most recent activity first",
      description:
        'A full page carries an `X-Next-Cursor` header: pass it as `cursor` for the next page (an empty page ends the list).',
      querystring: ConnectionListQuery,
      response: { 200: Type.Array(ConnectionListItem), ...errors(401, 403, 422) },
    },
    handler: async (request, reply) => {
      const { user_id, limit, status, cursor } = request.query;
      const userId = userOf(request, user_id);
      const summaries = await connections.list(userId, { limit, status, before: cursor === undefined ? undefined : cursorFrom(cursor) });
      const last = summaries.at(-1)?.connection;
      if (last && summaries.length === limit) reply.header('x-next-cursor', cursorOf(last));
      return summaries.map((summary) => listItemJson(summary, userId));
    },
  });

  app.get('/connections/:id', {
    schema: {
      tags,
      summary: 'One connection',
      params: ConnectionParams,
      querystring: ViewerQuery,
      response: { 200: ConnectionRef, ...errors(401, 403, 404) },
    },
    handler: async (request) =>
      connectionJson(await connections.get(request.params.id, viewerOf(request, request.query.user_id))),
  });

  app.post('/connections/:id/messages', {
    schema: {
      tags,
      summary: 'Send a message to the other user',
      description:
        'Answers once the message is stored. Live sockets of both users receive it; when the recipient has none, ' +
        'the configured notifiers are told. With an `Idempotency-Key` header a retry returns the stored message ' +
        '(200, `Idempotent-Replayed: true`) instead of sending it twice.',
      params: ConnectionParams,
      body: SendBody,
      response: { 200: MessageRef, 201: MessageRef, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
    },
    preHandler: limitMessages,
    handler: async (request, reply) => {
      const senderId = userOf(request, request.body.sender_id);
      const idempotencyKey = idempotencyKeyOf(request);
      const { message, replayed } = await connections.send(request.params.id, senderId, request.body.content, idempotencyKey);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(replayed ? 200 : 201).send(messageJson(message));
    },
  });

  app.get('/connections/:id/messages', {
    schema: {
      tags,
      summary: 'Messages of a connection, oldest first',
      description:
        'With `after`: the first `limit` messages after that seq (to catch up). Otherwise the newest `limit` ' +
        'messages, before `before` when given (to scroll back).',
      params: ConnectionParams,
      querystring: MessagesQuery,
      response: { 200: Type.Array(MessageRef), ...errors(401, 403, 404, 422) },
    },
    handler: async (request) => {
      const { user_id, after, before, limit } = request.query;
      const messages = await connections.messages(request.params.id, viewerOf(request, user_id), { after, before, limit });
      return messages.map(messageJson);
    },
  });

  app.post('/connections/:id/read', {
    schema: {
      tags,
      summary: 'Mark messages read up to a seq (a read receipt)',
      params: ConnectionParams,
      body: ReadBody,
      description:
        'A receipt at or below the current read position changes nothing and tells no one (200 with the current ' +
        'position). Receipts count against a per-user limit per minute.',
      response: { 200: ReadReply, ...errors(400, 401, 403, 404, 422, 429) },
    },
    preHandler: limitReadReceipts,
    handler: async (request) => {
      const userId = userOf(request, request.body.user_id);
      const result = await connections.markRead(request.params.id, userId, request.body.up_to);
      return {
        connection_id: request.params.id,
        user_id: userId,
        read_up_to: result.readUpTo,
        unread_count: result.unreadCount,
      };
    },
  });

  app.delete('/connections/:id', {
    schema: {
      tags,
      summary: 'End a connection',
      description: 'Its messages stay readable; nobody can write to it any more.',
      params: ConnectionParams,
      querystring: ViewerQuery,
      response: { 200: ConnectionRef, ...errors(401, 403, 404, 409) },
    },
    handler: async (request) =>
      connectionJson(await connections.end(request.params.id, viewerOf(request, request.query.user_id))),
  });
};
