import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import { ChatError } from '../../chat/errors.js';
import type { ConnectionService } from '../../people/connection-service.js';
import type { ConnectionStore } from '../../people/connection-store.js';
import type { LiveHub } from '../../people/live-hub.js';
import { LiveFeed, type FeedEvent } from '../../people/live-feed.js';
import { ClientFrames, errorFrame } from '../live-client-frames.js';
import { userOf } from '../auth.js';
import { sendError } from '../error-handler.js';
import { errors, UserId } from '../schemas/common.js';
import { connectionJson, messageJson } from '../schemas/connections.js';

export interface LiveRoutesOptions {
  connections: ConnectionService;
  store: ConnectionStore;
  hub: LiveHub;
  /** How often sockets are pinged; one that has not answered the previous ping is dropped. */
  heartbeatMs?: number | undefined;
  /** The people-message rate limit, for messages sent over the socket: seconds to wait, or null. */
  messageWait: (userId: string, ip: string) => Promise<number | null>;
  /** The read-receipt rate limit, for receipts sent over the socket: seconds to wait, or null. */
  readReceiptWait: (userId: string) => Promise<number | null>;
  /** Whether to relay a typing signal: one a second per user and connection, over all sockets. */
  typingAllowed: (userId: string, connectionId: string) => Promise<boolean>;
  /** Counts open sockets (a metrics gauge). */
  openSockets?: { inc(): void; dec(): void };
}

const LiveQuery = Type.Object({
  user_id: Type.Optional(UserId),
  access_token: Type.Optional(Type.String({ description: 'The bearer token or API key (browsers cannot set headers on a WebSocket)' })),
  connection_id: Type.Optional(Type.String({ description: 'Only this connection’s events' })),
  after: Type.Optional(
    Type.String({
      pattern: '^([0-9a-fA-F-]{36}:)?[0-9]{1,10}(,[0-9a-fA-F-]{36}:[0-9]{1,10})*$',
      description:
        'Resume points: `CONNECTION_ID:SEQ` pairs, comma-separated (the last seq the client has in each); ' +
        'a bare `SEQ` applies to `connection_id`, or without it to every connection not named (enough for a ' +
        'user with one connection). Missed messages are sent first, then live ones.',
    }),
  ),
});
type LiveQuery = Static<typeof LiveQuery>;

const LIVE_DESCRIPTION = `A WebSocket that receives, as JSON text frames, what happens in the user's connections:
\`{"type":"message","connection_id","message"}\`, \`{"type":"typing","connection_id","user_id"}\`,
\`{"type":"read","connection_id","user_id","up_to"}\`, \`{"type":"connection","connection"}\` (created or ended), and
\`{"type":"ready","user_id"}\` once it is caught up and listening. Messages arrive once each, in seq order per connection.
Send \`{"type":"send","connection_id","content","client_id"}\` to send a message (answered \`{"type":"sent","client_id","message"}\`
once stored; \`client_id\` works as an Idempotency-Key), \`{"type":"read","connection_id","up_to"}\` for a read receipt,
\`{"type":"typing","connection_id"}\` while typing (one a second per user and connection is relayed, the rest dropped) and \`{"type":"ping"}\` to get \`{"type":"pong"}\`.
After a drop, reconnect with \`after\` set to the last seq seen per connection: exactly the missed messages come first.`;

/** Frames a socket buffers before it counts as too slow; it is closed and can resume with `after`. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Open sockets one user may hold on one instance (tabs, devices). */
export const MAX_SOCKETS_PER_USER = 20;
/** setTimeout's longest delay; a sign-in that ends later is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The resume points in `after`: `CONNECTION:SEQ` pairs, and a bare `SEQ` for `connection_id` or,
 * without one, for every connection not named (what a client with one connection may send).
 */
function resumePoints(query: LiveQuery): { after: Map<string, number>; afterElsewhere: number | undefined } {
  const after = new Map<string, number>();
  let afterElsewhere: number | undefined;
  for (const item of query.after?.split(',') ?? []) {
    const colon = item.lastIndexOf(':');
    const seq = Number(item.slice(colon + 1));
    if (colon >= 0) after.set(item.slice(0, colon).toLowerCase(), seq);
    else if (query.connection_id !== undefined) after.set(query.connection_id.toLowerCase(), seq);
    else afterElsewhere = seq;
  }
  return { after, afterElsewhere };
}

/** The JSON frame for an event, in the API's snake_case. */
function frameOf(event: FeedEvent): object {
  switch (event.type) {
    case 'message':
      return { type: 'message', connection_id: event.connectionId, message: messageJson(event.message) };
    case 'typing':
      return { type: 'typing', connection_id: event.connectionId, user_id: event.userId };
    case 'read':
      return { type: 'read', connection_id: event.connectionId, user_id: event.userId, up_to: event.upTo };
    case 'connection':
      return { type: 'connection', connection: connectionJson(event.connection) };
    case 'ready':
      return { type: 'ready', user_id: event.userId };
  }
}

const tags = ['people'];


/** Live delivery of user-to-user chat over a WebSocket. */
export const liveRoutes: FastifyPluginAsyncTypebox<LiveRoutesOptions> = async (app, options) => {
  const { connections, store, hub } = options;
  const live = new WeakMap<FastifyRequest, { userId: string; resume: ReturnType<typeof resumePoints> }>();
  const socketsOf = new Map<string, number>();

  app.route({
    method: 'GET',
    url: '/ws',
    config: { tokenInQuery: true },
    schema: {
      tags,
      summary: 'Live events of a user’s connections (WebSocket)',
      description: LIVE_DESCRIPTION,
      querystring: LiveQuery,
      response: errors(401, 403, 404, 422, 426, 429),
    },
    // Refused before the upgrade, with the usual status and JSON body.
    preHandler: async (request) => {
      const userId = userOf(request, request.query.user_id);
      const resume = resumePoints(request.query);
      if (request.query.connection_id !== undefined) await connections.get(request.query.connection_id, userId);
      if ((socketsOf.get(userId) ?? 0) >= MAX_SOCKETS_PER_USER) {
        throw new ChatError('too_many_sockets', `At most ${MAX_SOCKETS_PER_USER} live sockets per user; close one first.`);
      }
      live.set(request, { userId, resume });
    },
    // A plain GET (no Upgrade header) that passed every check.
    handler: async (_request, reply) =>
      sendError(reply.header('upgrade', 'websocket'), 426, 'upgrade_required', 'This is a WebSocket: connect with Upgrade: websocket.'),
    wsHandler: (socket, request) => {
      const { userId, resume } = live.get(request)!;
      options.openSockets?.inc();
      socketsOf.set(userId, (socketsOf.get(userId) ?? 0) + 1);
      const frames = new ClientFrames({
        userId,
        ip: request.ip,
        connections,
        messageWait: options.messageWait,
        readReceiptWait: options.readReceiptWait,
        typingAllowed: options.typingAllowed,
        reply: (frame) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(frame)),
      });
      // A socket outlives the request that opened it: it closes when the sign-in ends.
      let expiry: NodeJS.Timeout | undefined;
      const closeWhenSignInEnds = () => {
        const left = (request.caller.expiresAt ?? Infinity) - Date.now();
        if (left === Infinity) return;
        if (left <= 0) return socket.close(4001, 'Sign-in expired: reconnect with a new token');
        expiry = setTimeout(closeWhenSignInEnds, Math.min(left, MAX_TIMER_MS));
      };
      closeWhenSignInEnds();
      let alive = true;
      let feed: LiveFeed | undefined;

      const send = (event: FeedEvent) => {
        if (socket.readyState !== socket.OPEN) return;
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          socket.close(1013, 'Too slow: reconnect with after=');
          return;
        }
        socket.send(JSON.stringify(frameOf(event)));
      };

      const heartbeat = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, options.heartbeatMs ?? 30_000);
      socket.on('pong', () => (alive = true));
      socket.on('close', () => {
        options.openSockets?.dec();
        const left = (socketsOf.get(userId) ?? 1) - 1;
        if (left > 0) socketsOf.set(userId, left);
        else socketsOf.delete(userId);
        clearTimeout(expiry);
        clearInterval(heartbeat);
        feed?.close();
      });
      socket.on('message', (data, isBinary) => {
        alive = true;
        void frames.receive(isBinary ? undefined : data.toString());
      });

      LiveFeed.open({ store, hub }, userId, { connectionId: request.query.connection_id, ...resume }, send).then(
        (opened) => {
          feed = opened;
          if (socket.readyState !== socket.OPEN) opened.close();
        },
        (error: unknown) => {
          request.log.warn({ err: error }, 'live feed failed to open');
          if (socket.readyState !== socket.OPEN) return;
          socket.send(JSON.stringify(errorFrame('unavailable', 'Live delivery is unavailable; reconnect in a moment.')));
          socket.close(1011, 'unavailable');
        },
      );
    },
  });
};
