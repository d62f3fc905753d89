import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConcurrencyLimiter, ReleaseSlot } from '../coordination/concurrency-limiter.js';
import type { Quota, RateLimit, RateLimiter } from '../coordination/rate-limiter.js';
import { sendError } from './error-handler.js';

export interface RateLimitConfig {
  userMessagesPerMinute: number;
  ipMessagesPerMinute: number;
  userSessionsPerHour: number;
  ipSessionsPerHour: number;
  userConcurrentStreams: number;
  ipConcurrentStreams: number;
  /** Tokens (prompt + completion, as the model reports them) one user may use per day; 0 is off. */
  userTokensPerDay: number;
  /** Messages to other people (user-to-user chat) per user and per IP per minute. */
  userPeopleMessagesPerMinute: number;
  ipPeopleMessagesPerMinute: number;
  /** Read receipts (HTTP and socket) per user per minute. */
  userReadReceiptsPerMinute: number;
  /** Connections a user may create per hour (re-opening an existing one does not count). */
  userConnectionsPerHour: number;
}

/** Typing signals relayed per user and connection: one in this many seconds, across sockets and instances. */
export const TYPING_INTERVAL_SECONDS = 1;

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/**
 * Abuse limits per user and per IP: messages per minute, sessions per hour and replies streaming at
 * once. Over a limit the request gets 429 `rate_limited` with Retry-After and changes nothing.
 * A limit of 0 is off.
 */
export function rateLimitHooks(
  config: RateLimitConfig,
  coordination: { rateLimiter(limit: RateLimit): RateLimiter; concurrency: ConcurrencyLimiter; quota(limit: RateLimit): Quota },
  sessionOwner: (sessionId: string) => Promise<string | null>,
): {
  /** Undefined when no limit applies to new sessions (then no hook runs). */
  sessions: Hook | undefined;
  /** Undefined when no limit applies to messages. */
  messages: Hook | undefined;
  /** Messages between people; undefined when unlimited. */
  peopleMessages: Hook | undefined;
  /** The same limit for a message sent over a live socket: seconds to wait, or null to go ahead. */
  peopleMessageWait: (userId: string, ip: string) => Promise<number | null>;
  /** Read receipts over HTTP; undefined when unlimited. */
  readReceipts: Hook | undefined;
  /** The same limit for a read receipt sent over a live socket: seconds to wait, or null. */
  readReceiptWait: (userId: string) => Promise<number | null>;
  /**
   * New connections: `check` counts the request before it runs, `notCreated` gives the count back
   * when it answered an existing connection (or failed). Undefined when unlimited.
   */
  newConnections: { check: Hook; notCreated: (request: FastifyRequest) => void } | undefined;
  /** Whether to relay this typing signal: false for a second one within TYPING_INTERVAL_SECONDS. */
  typingAllowed: (userId: string, connectionId: string) => Promise<boolean>;
  /** Counts tokens a reply used against its user's daily quota. */
  spendTokens: (userId: string, tokens: number) => void;
  /** A slot for one more open stream, released by the returned function; null (and a 429 sent) when full. */
  streamSlot: (request: FastifyRequest, reply: FastifyReply) => Promise<(() => void) | null>;
} {
  const limiter = (limit: RateLimit) => coordination.rateLimiter(limit);
  const slots = coordination.concurrency;
  const make = (name: string, points: number, windowSeconds: number) =>
    points > 0 ? limiter({ name, points, windowSeconds }) : undefined;
  const tokens =
    config.userTokensPerDay > 0
      ? coordination.quota({ name: 'user-tokens', points: config.userTokensPerDay, windowSeconds: 86_400 })
      : undefined;
  const userMessages = make('user-messages', config.userMessagesPerMinute, 60);
  const ipMessages = make('ip-messages', config.ipMessagesPerMinute, 60);
  const userSessions = make('user-sessions', config.userSessionsPerHour, 3600);
  const ipSessions = make('ip-sessions', config.ipSessionsPerHour, 3600);
  const userPeopleMessages = make('user-people-messages', config.userPeopleMessagesPerMinute, 60);
  const ipPeopleMessages = make('ip-people-messages', config.ipPeopleMessagesPerMinute, 60);
  const userReadReceipts = make('user-read-receipts', config.userReadReceiptsPerMinute, 60);
  const userConnections = make('user-connections', config.userConnectionsPerHour, 3600);
  const typing = limiter({ name: 'user-typing', points: 1, windowSeconds: TYPING_INTERVAL_SECONDS });
  /** The key each connection request was counted under, to give back if it created nothing. */
  const countedConnections = new WeakMap<FastifyRequest, string>();

  /** Counts the request against each limit; answers 429 (and returns the reply) at the first one over. */
  const check = async (reply: FastifyReply, what: string, checks: [RateLimiter | undefined, string | null][]) => {
    for (const [rate, key] of checks) {
      if (!rate || key === null) continue;
      const wait = await rate.consume(key);
      if (wait !== null) {
        reply.header('retry-after', String(wait));
        return sendError(reply, 429, 'rate_limited', `Too many ${what}. Try again in ${wait} seconds.`);
      }
    }
    return undefined;
  };

  /** The user whose budget a request spends: the caller, else (only when a limit needs it) the session's owner. */
  const userFor = async (request: FastifyRequest, needed: boolean): Promise<string | null> => {
    if (!needed) return null;
    if (request.caller.userId !== undefined) return request.caller.userId;
    return sessionOwner((request.params as { id: string }).id);
  };

  /** Takes every slot or none; a 429 when any is full. */
  const streamSlot = async (request: FastifyRequest, reply: FastifyReply) => {
    const owner = await userFor(request, config.userConcurrentStreams > 0);
    const wanted: [string, number][] = [
      [`ip-streams:${request.ip}`, config.ipConcurrentStreams],
      ...(owner === null ? [] : ([[`user-streams:${owner}`, config.userConcurrentStreams]] as [string, number][])),
    ];
    const taken: ReleaseSlot[] = [];
    const releaseTaken = () => Promise.all(taken.map((release) => release()));
    try {
      for (const [key, limit] of wanted) {
        if (limit <= 0) continue;
        const release = await slots.acquire(key, limit);
        if (!release) {
          await releaseTaken();
          reply.header('retry-after', '5');
          await sendError(reply, 429, 'rate_limited', 'Too many replies are streaming at once. Wait for one to finish.');
          return null;
        }
        taken.push(release);
      }
    } catch (error) {
      // Redis failed half way: the slots already taken would stay held until they expire.
      await releaseTaken();
      throw error;
    }
    return () => void releaseTaken();
  };

  return {
    streamSlot,
    spendTokens: (userId, used) => void tokens?.spend(userId, used),
    sessions: !ipSessions && !userSessions ? undefined : async (request, reply) =>
      check(reply, 'new sessions', [
        [ipSessions, request.ip],
        [userSessions, actingUser(request, 'user_id')],
      ]),
    peopleMessageWait: async (userId, ip) => {
      for (const [rate, key] of [[ipPeopleMessages, ip], [userPeopleMessages, userId]] as const) {
        const wait = rate ? await rate.consume(key) : null;
        if (wait !== null) return wait;
      }
      return null;
    },
    readReceipts: !userReadReceipts ? undefined : async (request, reply) =>
      check(reply, 'read receipts', [[userReadReceipts, actingUser(request, 'user_id')]]),
    readReceiptWait: async (userId) => (userReadReceipts ? userReadReceipts.consume(userId) : null),
    newConnections: !userConnections ? undefined : {
      check: async (request, reply) => {
        const creator = connectionCreator(request);
        if (creator === null) return undefined;
        const limited = await check(reply, 'new connections', [[userConnections, creator]]);
        if (!limited) countedConnections.set(request, creator);
        return limited;
      },
      notCreated: (request) => {
        const creator = countedConnections.get(request);
        countedConnections.delete(request);
        if (creator !== undefined) void userConnections.refund(creator);
      },
    },
    // A user's id and a connection id as one key that no other pair can spell.
    typingAllowed: async (userId, connectionId) => (await typing.consume(JSON.stringify([userId, connectionId]))) === null,
    peopleMessages: !ipPeopleMessages && !userPeopleMessages ? undefined : async (request, reply) =>
      check(reply, 'messages', [
        [ipPeopleMessages, request.ip],
        [userPeopleMessages, actingUser(request, 'sender_id')],
      ]),
    messages: !ipMessages && !userMessages && !tokens ? undefined : async (request, reply) => {
      // Signed in, the budget is the caller's (never the owner of a session they cannot see);
      // otherwise the session's owner, which costs a lookup, so only when a per-user limit needs it.
      const owner = await userFor(request, userMessages !== undefined || tokens !== undefined);
      const limited = await check(reply, 'messages', [
        [ipMessages, request.ip],
        [userMessages, owner],
      ]);
      if (limited || !tokens || owner === null) return limited;
      const wait = await tokens.exhausted(owner);
      if (wait === null) return undefined;
      reply.header('retry-after', String(wait));
      return sendError(reply, 429, 'token_quota_exceeded', `Today's token allowance is used up. It renews in ${wait} seconds.`);
    },
  };
}

/** The user creating a connection: the signed-in one (either of the two), else user1_id. */
function connectionCreator(request: FastifyRequest): string | null {
  const named = (request.body as Record<string, unknown> | undefined)?.['user1_id'];
  return request.caller.userId ?? (typeof named === 'string' ? named : null);
}

/** The user a write acts for: the signed-in one, or the one the body names (null if neither, or a mismatch). */
function actingUser(request: FastifyRequest, field: string): string | null {
  const named = (request.body as Record<string, unknown> | undefined)?.[field];
  const signedIn = request.caller.userId;
  // Someone else's id is refused by the handler; it must not spend that user's budget.
  if (signedIn !== undefined && named !== undefined && named !== signedIn) return null;
  return signedIn ?? (typeof named === 'string' ? named : null);
}
