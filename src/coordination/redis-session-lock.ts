import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ChatError } from '../chat/errors.js';
import { LocalSessionLock, type SessionLock } from '../chat/session-lock.js';

export interface RedisLockOptions {
  /** Lease length; renewed every third of it while the holder works, so a crashed holder frees it soon. */
  ttlMs: number;
  /** Longest wait for the lock before answering 503. */
  waitMs: number;
}

// Delete or extend the lock only if we still hold it (the token is ours), atomically.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * One writer per session across every instance: a Redis lease (SET NX PX with a random token,
 * renewed while held, released only by its holder). Within an instance, requests queue in arrival
 * order first, so each instance sends one contender per session to Redis. Should a lease ever
 * lapse mid-exchange, the store's fencing check (the expected message count) refuses the stale write.
 */
export class RedisSessionLock implements SessionLock {
  readonly #local = new LocalSessionLock();

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisLockOptions,
  ) {}

  run<T>(sessionId: string, task: () => Promise<T>): Promise<T> {
    return this.#local.run(sessionId, () => this.#holding(`chatify:lock:session:${sessionId}`, task));
  }

  async #holding<T>(key: string, task: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    await this.#acquire(key, token);
    const renew = setInterval(() => {
      this.redis.eval(EXTEND, 1, key, token, this.options.ttlMs).catch(() => undefined);
    }, Math.max(50, Math.floor(this.options.ttlMs / 3)));
    try {
      return await task();
    } finally {
      clearInterval(renew);
      await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }

  async #acquire(key: string, token: string): Promise<void> {
    const deadline = Date.now() + this.options.waitMs;
    let pause = 2;
    for (;;) {
      let acquired: string | null;
      try {
        acquired = await this.redis.set(key, token, 'PX', this.options.ttlMs, 'NX');
      } catch (error) {
        throw new ChatError('coordination_unavailable', 'Redis does not answer; please retry shortly.', { cause: error });
      }
      if (acquired) return;
      if (Date.now() >= deadline) {
        throw new ChatError('coordination_unavailable', 'This session is busy for too long; please retry shortly.');
      }
      await new Promise((resolve) => setTimeout(resolve, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 50);
    }
  }
}
