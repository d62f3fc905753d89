import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ChatError } from '../chat/errors.js';

/** Gives a slot back; a second call, or one after the slot expired, does nothing. */
export type ReleaseSlot = () => Promise<void>;

/** Counts things under way per key (open streams), refusing one more past the limit. */
export interface ConcurrencyLimiter {
  /** Takes a slot for `key`: how to give it back, or null when `key` already holds `limit`. */
  acquire(key: string, limit: number): Promise<ReleaseSlot | null>;
}

/** Slots in this process: right for one instance. */
export function memoryConcurrencyLimiter(): ConcurrencyLimiter {
  const counts = new Map<string, number>();
  return {
    async acquire(key, limit) {
      const current = counts.get(key) ?? 0;
      if (current >= limit) return null;
      counts.set(key, current + 1);
      let held = true;
      return async () => {
        if (!held) return;
        held = false;
        const left = (counts.get(key) ?? 1) - 1;
        if (left <= 0) counts.delete(key);
        else counts.set(key, left);
      };
    },
  };
}

export interface RedisSlotOptions {
  /** A slot outlives a crashed instance by at most this long (default 10 minutes). */
  slotTtlMs?: number;
}

/**
 * Each slot is a member of a sorted set scored by when it expires (Redis's clock), so a slot leaked by
 * a crashed instance expires on its own: nothing else extends it, a refusal changes nothing, and a
 * release after the expiry removes nothing (a count can never go below zero).
 */
const ACQUIRE = `local clock = redis.call('time')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
if redis.call('zcard', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('zadd', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('pexpire', KEYS[1], ARGV[2])
return 1`;

/** Slots in Redis, shared by every instance. */
export function redisConcurrencyLimiter(redis: Redis, options: RedisSlotOptions = {}): ConcurrencyLimiter {
  const ttlMs = options.slotTtlMs ?? 600_000;
  return {
    async acquire(key, limit) {
      const slots = `chatify:slots:${key}`;
      const slot = randomUUID();
      let taken: unknown;
      try {
        taken = await redis.eval(ACQUIRE, 1, slots, limit, ttlMs, slot);
      } catch (error) {
        throw new ChatError('coordination_unavailable', 'Redis does not answer; please retry shortly.', { cause: error });
      }
      if (taken !== 1) return null;
      let held = true;
      return async () => {
        if (!held) return;
        held = false;
        // Unreachable Redis: the slot expires by itself.
        await redis.zrem(slots, slot).catch(() => undefined);
      };
    },
  };
}
