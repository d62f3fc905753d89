import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimit, RateLimiter } from '../coordination/rate-limiter.js';
import { sendError } from './error-handler.js';

export interface RateLimitConfig {
  userMessagesPerMinute: number;
  ipMessagesPerMinute: number;
  userSessionsPerHour: number;
  ipSessionsPerHour: number;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/**
 * Abuse limits per user and per IP: messages per minute and sessions per hour. Over a limit the
 * request gets 429 `rate_limited` with Retry-After and changes nothing. A limit of 0 is off.
 */
export function rateLimitHooks(
  config: RateLimitConfig,
  limiter: (limit: RateLimit) => RateLimiter,
  sessionOwner: (sessionId: string) => Promise<string | null>,
): { sessions: Hook; messages: Hook } {
  const make = (name: string, points: number, windowSeconds: number) =>
    points > 0 ? limiter({ name, points, windowSeconds }) : undefined;
  const userMessages = make('user-messages', config.userMessagesPerMinute, 60);
  const ipMessages = make('ip-messages', config.ipMessagesPerMinute, 60);
  const userSessions = make('user-sessions', config.userSessionsPerHour, 3600);
  const ipSessions = make('ip-sessions', config.ipSessionsPerHour, 3600);

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

  return {
    sessions: async (request, reply) => {
      const userId = (request.body as { user_id?: unknown } | undefined)?.user_id;
      return check(reply, 'new sessions', [
        [ipSessions, request.ip],
        [userSessions, typeof userId === 'string' ? userId : null],
      ]);
    },
    messages: async (request, reply) => {
      const owner = await sessionOwner((request.params as { id: string }).id);
      return check(reply, 'messages', [
        [ipMessages, request.ip],
        [userMessages, owner],
      ]);
    },
  };
}
