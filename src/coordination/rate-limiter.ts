import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ChatError } from '../chat/errors.js';

/** Counts events per key in a fixed window; answers how long to wait when the key is over its limit. */
export interface RateLimiter {
  /** Counts one event for `key`; null if allowed, else the seconds until the next one is. */
  consume(key: string): Promise<number | null>;
  /** Gives back one event counted for `key` that turned out not to count (best effort). */
  refund(key: string): Promise<void>;
}

export interface RateLimit {
  name: string;
  /** Events allowed per window. */
  points: number;
  windowSeconds: number;
}

function wrap(limiter: RateLimiterAbstract): RateLimiter {
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
        return null;
      } catch (outcome) {
        if (outcome instanceof RateLimiterRes) return Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
        throw new ChatError('coordination_unavailable', 'Redis does not answer; please retry shortly.', { cause: outcome });
      }
    },
    async refund(key) {
      await limiter.reward(key, 1).catch(() => undefined);
    },
  };
}

/** Counters in this process: right for one instance. */
export function memoryRateLimiter(limit: RateLimit): RateLimiter {
  return wrap(new RateLimiterMemory({ keyPrefix: limit.name, points: limit.points, duration: limit.windowSeconds }));
}

/** Counters in Redis, shared by every instance. */
export function redisRateLimiter(redis: Redis, limit: RateLimit): RateLimiter {
  return wrap(
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `chatify:rate:${limit.name}`,
      points: limit.points,
      duration: limit.windowSeconds,
    }),
  );
}

/** A budget per key and window (tokens per user per day): spent after the fact, checked before. */
export interface Quota {
  /** Seconds until the window resets if `key` has used up its budget, else null. */
  exhausted(key: string): Promise<number | null>;
  spend(key: string, amount: number): Promise<void>;
}

function quotaOf(limiter: RateLimiterAbstract, budget: number): Quota {
  return {
    async exhausted(key) {
      let state: RateLimiterRes | null;
      try {
        state = await limiter.get(key);
      } catch (error) {
        throw new ChatError('coordination_unavailable', 'Redis does not answer; please retry shortly.', { cause: error });
      }
      return state && state.consumedPoints >= budget ? Math.max(1, Math.ceil(state.msBeforeNext / 1000)) : null;
    },
    async spend(key, amount) {
      if (amount > 0) await limiter.penalty(key, amount).catch(() => undefined);
    },
  };
}

export function memoryQuota(limit: RateLimit): Quota {
  return quotaOf(new RateLimiterMemory({ keyPrefix: limit.name, points: limit.points, duration: limit.windowSeconds }), limit.points);
}

export function redisQuota(redis: Redis, limit: RateLimit): Quota {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `chatify:quota:${limit.name}`, points: limit.points, duration: limit.windowSeconds });
  return quotaOf(limiter, limit.points);
}
