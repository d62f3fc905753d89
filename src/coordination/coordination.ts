import { Redis } from 'ioredis';
import type { ChangeFeed } from '../chat/change-feed.js';
import { localChangeFeed } from '../chat/change-feed.js';
import { LocalSessionLock, type SessionLock } from '../chat/session-lock.js';
import { memoryConcurrencyLimiter, redisConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency-limiter.js';
import {
  memoryQuota,
  memoryRateLimiter,
  redisQuota,
  redisRateLimiter,
  type Quota,
  type RateLimit,
  type RateLimiter,
} from './rate-limiter.js';
import type { LiveHub } from '../people/live-hub.js';
import { LocalLiveHub } from './local-live-hub.js';
import { RedisChangeFeed } from './redis-change-feed.js';
import { RedisLiveHub } from './redis-live-hub.js';
import { RedisSessionLock, type RedisLockOptions } from './redis-session-lock.js';

/**
 * What instances share besides the store: who writes a session, news of changed personalities,
 * limits, and live delivery of user-to-user chat.
 */
export interface Coordination {
  kind: 'local' | 'redis';
  lock: SessionLock;
  changes: ChangeFeed;
  /** A limiter whose counters every instance shares (with Redis), or this process keeps. */
  rateLimiter(limit: RateLimit): RateLimiter;
  /** Slots for things under way (open streams), shared like the rate limits. */
  concurrency: ConcurrencyLimiter;
  /** A budget per key and window (tokens per user per day), shared like the rate limits. */
  quota(limit: RateLimit): Quota;
  /** Events for users' live sockets, wherever they are connected. */
  live: LiveHub;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function localCoordination(): Coordination {
  return {
    kind: 'local',
    lock: new LocalSessionLock(),
    changes: localChangeFeed,
    rateLimiter: memoryRateLimiter,
    concurrency: memoryConcurrencyLimiter(),
    quota: memoryQuota,
    live: new LocalLiveHub(),
    ping: async () => undefined,
    close: async () => undefined,
  };
}

/**
 * Coordination through Redis. Commands fail at once while Redis is unreachable (no offline queue),
 * so requests get a clear 503 instead of hanging; the client reconnects by itself.
 */
export function redisCoordination(url: string, lock: RedisLockOptions): Coordination {
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
    ping: async () => {
      await commands.ping();
    },
    close: async () => {
      commands.disconnect();
      subscriber.disconnect();
    },
  };
}
