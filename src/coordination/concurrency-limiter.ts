import type { Redis } from 'ioredis';
import { ChatError } from '../chat/errors.js';

/** Counts things under way per key (open streams), refusing one more past the limit. */
export interface ConcurrencyLimiter {
  /** Takes a slot for `key`; false when `key` already holds `limit`. */
  acquire(key: string, limit: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

/** Slots in this process: right for one instance. */
export function memoryConcurrencyLimiter(): ConcurrencyLimiter {
  const counts = new Map<string, number>();
  return {
    async acquire(key, limit) {
      const current = counts.get(key) ?? 0;
      if (current >= limit) return false;
      counts.set(key, current + 1);
      return true;
    },
    async release(key) {
      const current = (counts.get(key) ?? 1) - 1;
      if (current <= 0) counts.delete(key);
      else counts.set(key, current);
    },
  };
}

/** A slot outlives a crashed instance by at most this long. */
const SLOT_TTL_SECONDS = 600;

// Take a slot only if one is free, atomically; the expiry frees slots of instances that died.
const ACQUIRE = `local n = redis.call('incr', KEYS[1])
redis.call('expire', KEYS[1], ARGV[2])
if n > tonumber(ARGV[1]) then redis.call('decr', KEYS[1]) return 0 end
return 1`;

/** Slots in Redis, shared by every instance. */
export function redisConcurrencyLimiter(redis: Redis): ConcurrencyLimiter {
  const slot = (key: string) => `chatify:slots:${key}`;
  return {
    async acquire(key, limit) {
      try {
        return (await redis.eval(ACQUIRE, 1, slot(key), limit, SLOT_TTL_SECONDS)) === 1;
      } catch (error) {
        throw new ChatError('coordination_unavailable', 'Redis does not answer; please retry shortly.', { cause: error });
      }
    },
    async release(key) {
      await redis.decr(slot(key)).catch(() => undefined);
    },
  };
}
