import type { ChangeFeed } from '../chat/change-feed.js';
import { localChangeFeed } from '../chat/change-feed.js';
import { LocalSessionLock, type SessionLock } from '../chat/session-lock.js';
import { memoryConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency-limiter.js';
import type { LiveHub } from '../people/live-hub.js';
import { LocalLiveHub } from './local-live-hub.js';
import { LocalReplyLog } from './local-reply-log.js';
import type { ReplyLog } from './reply-log.js';
import { memoryQuota, memoryRateLimiter, type Quota, type RateLimit, type RateLimiter } from './rate-limiter.js';

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
  /** Streamed replies, attachable from any instance (with Redis) or this one. */
  replies: ReplyLog;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function localCoordination(options: { replyTtlMs?: number } = {}): Coordination {
  return {
    kind: 'local',
    lock: new LocalSessionLock(),
    changes: localChangeFeed,
    rateLimiter: memoryRateLimiter,
    concurrency: memoryConcurrencyLimiter(),
    quota: memoryQuota,
    live: new LocalLiveHub(),
    replies: new LocalReplyLog(options.replyTtlMs ?? 300_000),
    ping: async () => undefined,
    close: async () => undefined,
  };
}
