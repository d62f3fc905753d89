import { Redis } from 'ioredis';
import type { Coordination } from './coordination.js';
import { redisConcurrencyLimiter } from './concurrency-limiter.js';
import { redisQuota, redisRateLimiter } from './rate-limiter.js';
import { RedisChangeFeed } from './redis-change-feed.js';
import { RedisReplyLog } from './redis-reply-log.js';
import { RedisLiveHub } from './redis-live-hub.js';
import { RedisSessionLock, type RedisLockOptions } from './redis-session-lock.js';

/**
 * Coordination through Redis. Commands fail at once while Redis is unreachable (no offline queue),
 * so requests get a clear 503 instead of hanging; the client reconnects by itself.
 */
export function redisCoordination(url: string, lock: RedisLockOptions, replyTtlMs = 300_000): Coordination {
  const options = { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false } as const;
  const commands = new Redis(url, options);
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true });
  // Connection errors surface as failed commands; the client keeps reconnecting in the background.
  commands.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  return {
    kind: 'redis',
    lock: new RedisSessionLock(commands, lock),
    changes: new RedisChangeFeed(commands, subscriber),
    rateLimiter: (limit) => redisRateLimiter(commands, limit),
    concurrency: redisConcurrencyLimiter(commands),
    quota: (limit) => redisQuota(commands, limit),
    live: new RedisLiveHub(commands, subscriber),
    replies: new RedisReplyLog(commands, replyTtlMs),
    ping: async () => {
      await commands.ping();
    },
    close: async () => {
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
