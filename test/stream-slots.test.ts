import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ChatError } from '../src/chat/errors.js';
import { redisConcurrencyLimiter, type ConcurrencyLimiter } from '../src/coordination/concurrency-limiter.js';
import { localCoordination } from '../src/coordination/coordination.js';
import { ChatifyServer } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { redisConfigured, TEST_REDIS_URL } from './support/redis.js';

/** A Redis client whose keys all live under a prefix of the test's own. */
const clients: Redis[] = [];
function ownRedis(): Redis {
  const client = new Redis(TEST_REDIS_URL!, { keyPrefix: `test:${randomUUID()}:` });
  clients.push(client);
  return client;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(redisConfigured())('stream slots in Redis', () => {
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  it('lets a leaked slot expire on time although refused attempts keep coming', async () => {
    const ttlMs = 400;
    const slots = redisConcurrencyLimiter(ownRedis(), { slotTtlMs: ttlMs });
    expect(await slots.acquire('user-streams:leaky', 1)).not.toBeNull(); // never released: its instance died
    const takenAt = Date.now();

    // Someone keeps trying every 50 ms; each refusal must leave the leaked slot's expiry alone.
    let refusals = 0;
    let freedAfterMs: number | undefined;
    while (Date.now() - takenAt < 3 * ttlMs) {
      if (await slots.acquire('user-streams:leaky', 1)) {
        freedAfterMs = Date.now() - takenAt;
        break;
      }
      refusals += 1;
      await sleep(50);
    }
    expect(refusals).toBeGreaterThan(0);
    expect(freedAfterMs).toBeDefined();
    expect(freedAfterMs!).toBeGreaterThanOrEqual(ttlMs - 50);
  });

  it('counts a release after the slot expired as nothing, never below zero', async () => {
    const redis = ownRedis();
    const slots = redisConcurrencyLimiter(redis, { slotTtlMs: 200 });
    const late = await slots.acquire('user-streams:slow', 1);
    expect(late).not.toBeNull();
    while ((await redis.exists('chatify:slots:user-streams:slow')) === 1) await sleep(25);
    await late!(); // the stream ends after its slot expired

    expect(await slots.acquire('user-streams:slow', 1)).not.toBeNull();
    expect(await slots.acquire('user-streams:slow', 1)).toBeNull();
  });

  it('refuses past the limit, and a slot given back twice frees only one', async () => {
    const slots = redisConcurrencyLimiter(ownRedis());
    const first = await slots.acquire('ip-streams:10.0.0.1', 2);
    const second = await slots.acquire('ip-streams:10.0.0.1', 2);
    expect([first, second].every((release) => release !== null)).toBe(true);
    for (let i = 0; i < 3; i++) expect(await slots.acquire('ip-streams:10.0.0.1', 2)).toBeNull();
    await first!();
    await first!(); // twice gives back one slot, not two
    expect(await slots.acquire('ip-streams:10.0.0.1', 2)).not.toBeNull();
    expect(await slots.acquire('ip-streams:10.0.0.1', 2)).toBeNull();
  });
});

describe.runIf(redisConfigured())('a Redis failure while taking the user’s stream slot', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let redis: Redis;
  let failUserSlots = false;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    redis = new Redis(TEST_REDIS_URL!, { keyPrefix: `test:${randomUUID()}:` });
    const slots = redisConcurrencyLimiter(redis);
    // Redis answers for the IP's slot, then fails for the user's (as when it goes away in between).
    const flaky: ConcurrencyLimiter = {
      acquire: async (key, limit) => {
        if (failUserSlots && key.startsWith('user-streams:')) {
          throw new ChatError('coordination_unavailable', 'Redis does not answer; please retry shortly.');
        }
        return slots.acquire(key, limit);
      },
    };
    server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, { RATE_LIMIT_USER_CONCURRENT_STREAMS: '1', RATE_LIMIT_IP_CONCURRENT_STREAMS: '1' }),
      { deps: { coordination: { ...localCoordination(), concurrency: flaky } } },
    );
  });
  afterAll(async () => {
    await server?.close();
    await model?.close();
    redis?.disconnect();
  });

  const stream = (id: string) =>
    fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'go' }),
    });

  it("gives the IP's slot back, so the next stream from that address is not refused", async () => {
    const id = await server.createSession('user_flaky_slots');
    failUserSlots = true;
    const failed = await stream(id);
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as any).error.code).toBe('coordination_unavailable');
    expect(await redis.zcard('chatify:slots:ip-streams:127.0.0.1')).toBe(0);

    failUserSlots = false;
    const next = await stream(id);
    expect(next.status).toBe(200);
    expect(await next.text()).toContain('event: done');
  });
});
