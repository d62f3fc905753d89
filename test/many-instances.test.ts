import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi, lastUserMessage } from './support/fake-openai.js';
import { createTestDatabase, postgresConfigured } from './support/postgres.js';
import { OwnRedis, redisConfigured, TEST_REDIS_URL } from './support/redis.js';
import { NO_RATE_LIMITS } from './support/chatify-server.js';
import { ServerProcess } from './support/server-process.js';
import { TcpProxy } from './support/tcp-proxy.js';

const runs = postgresConfigured() && redisConfigured();

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** What every instance in these tests runs with. */
function instanceEnv(databaseUrl: string, redisUrl: string, modelUrl: string, extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    OPENAI_API_KEY: 'sk-test',
    OPENAI_BASE_URL: modelUrl,
    LLM_MAX_RETRIES: '0',
    LOG_LEVEL: 'warn',
    ...NO_RATE_LIMITS,
    ...extra,
  };
}

/** Sends until the instance answers 200 again (it reconnects by itself), for at most 5 s. */
async function sendUntilAnswered(server: ServerProcess, id: string, message: string) {
  let res = { status: 0, body: {} as any };
  for (let i = 0; i < 50 && res.status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    res = await call(server.url, 'POST', `/api/v1/chatbot/session/${id}/message`, { message });
  }
  return res;
}

describe.runIf(runs)('two instances on one PostgreSQL and one Redis', () => {
  let model: FakeOpenAi;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    // Uneven model latency, so replies would overtake each other if sends were not serialised.
    model = await FakeOpenAi.start({ latencyMs: (i) => [25, 3, 15, 0, 8][i % 5]! });
    database = await createTestDatabase();
    const env = instanceEnv(database.url, TEST_REDIS_URL!, model.url, {
      CONTEXT_MAX_MESSAGES: '100',
      // Shared through Redis: the second instance sees what the first counted.
      RATE_LIMIT_USER_SESSIONS_PER_HOUR: '4',
    });
    // One after the other: the second finds the schema migrated and the personalities seeded.
    a = await ServerProcess.start({ entry: 'source', env });
    b = await ServerProcess.start({ entry: 'source', env });
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await model?.close();
    await database?.drop();
  });

  const create = async (server: ServerProcess, user = `user_${Math.random().toString(36).slice(2, 10)}`) =>
    (await call(server.url, 'POST', '/api/v1/chatbot/session', { user_id: user })).body.session_id as string;
  const send = (server: ServerProcess, id: string, message: string) =>
    call(server.url, 'POST', `/api/v1/chatbot/session/${id}/message`, { message });

  it('reports redis coordination on both', async () => {
    for (const server of [a, b]) {
      expect((await call(server.url, 'GET', '/ready')).body).toMatchObject({ store: 'postgres', coordination: 'redis' });
    }
  });

  it('keeps the full context when messages alternate between instances', async () => {
    const id = await create(a);
    const order = [a, b, a, a, b, b, a];
    for (const [i, server] of order.entries()) {
      const res = await send(server, id, `turn ${i + 1}`);
      expect(res.status).toBe(200);
      expect(res.body.message_count).toBe(i + 1);
      const context = model.requests.at(-1)!.messages.slice(1).map((m) => m.content);
      const expected = Array.from({ length: i }, (_, k) => [`turn ${k + 1}`, `Reply to: turn ${k + 1}`]).flat();
      expect(context).toEqual([...expected, `turn ${i + 1}`]);
    }
    const history = (await call(b.url, 'GET', `/api/v1/chatbot/session/${id}`)).body.conversation_history;
    expect(history).toHaveLength(14);
  });

  it('answers 20 concurrent sends split across both instances strictly one after another', async () => {
    const id = await create(a);
    const before = model.requests.length;
    const texts = Array.from({ length: 20 }, (_, i) => `concurrent ${i + 1}`);
    const replies = await Promise.all(texts.map((text, i) => send(i % 2 === 0 ? a : b, id, text)));
    for (const [i, res] of replies.entries()) {
      expect(res.status).toBe(200);
      expect(res.body.response).toBe(`Reply to: ${texts[i]}`);
    }
    expect(replies.map((r) => r.body.message_count).sort((x, y) => x - y)).toEqual(texts.map((_, i) => i + 1));

    const requests = model.requests.slice(before);
    expect(requests).toHaveLength(20);
    const order = requests.map(lastUserMessage);
    requests.forEach((request, k) => {
      const expected = order.slice(0, k).flatMap((text) => [text, `Reply to: ${text}`]);
      expect(request.messages.slice(1, -1).map((m) => m.content)).toEqual(expected);
    });
    const history = (await call(a.url, 'GET', `/api/v1/chatbot/session/${id}?limit=100`)).body.conversation_history;
    expect(history.map((m: any) => m.content)).toEqual(order.flatMap((text) => [text, `Reply to: ${text}`]));
    expect(history.map((m: any) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('sees an end made on the other instance at once', async () => {
    const id = await create(a);
    await send(b, id, 'hello from b'); // b now holds the session in memory
    expect((await call(a.url, 'DELETE', `/api/v1/chatbot/session/${id}`)).status).toBe(200);
    const late = await send(b, id, 'still there?');
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('session_ended');
    expect((await call(b.url, 'GET', `/api/v1/chatbot/session/${id}`)).body.status).toBe('ended');
    expect((await call(b.url, 'DELETE', `/api/v1/chatbot/session/${id}`)).status).toBe(409);
  });

  it('shares rate-limit counters between instances through Redis', async () => {
    const user = `user_limited_${Date.now()}`;
    const statuses: number[] = [];
    for (const server of [a, b, a, b, a]) {
      statuses.push((await call(server.url, 'POST', '/api/v1/chatbot/session', { user_id: user })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const refused = await fetch(`${b.url}/api/v1/chatbot/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: user }),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ success: false, error: { code: 'rate_limited' } });
  });

  it('applies a rules change made on one instance to the other', async () => {
    const id = await create(b);
    await send(b, id, 'before'); // b composes and caches the prompt
    const put = await call(a.url, 'PUT', '/api/v1/settings/universal-rules', { rules: 'Shared rule.', enabled: true });
    expect(put.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100)); // pub/sub delivery
    await send(b, id, 'after');
    expect(model.requests.at(-1)!.messages[0]!.content.startsWith('Shared rule.\n\n')).toBe(true);
    await call(a.url, 'PUT', '/api/v1/settings/universal-rules', { enabled: false });
  });
});

describe.runIf(runs)('an instance whose Redis goes away for a while', () => {
  let model: FakeOpenAi;
  let redis: OwnRedis;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: ServerProcess;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    redis = await OwnRedis.start();
    database = await createTestDatabase();
    server = await ServerProcess.start({ entry: 'source', env: instanceEnv(database.url, redis.url, model.url) });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await redis?.down();
    await model?.close();
    await database?.drop();
  });

  it('answers 503 while Redis is down, loses nothing, and recovers without a restart', async () => {
    const id = (await call(server.url, 'POST', '/api/v1/chatbot/session', { user_id: 'user_outage' })).body.session_id;
    expect((await call(server.url, 'POST', `/api/v1/chatbot/session/${id}/message`, { message: 'one' })).status).toBe(200);

    await redis.down();
    const refused = await call(server.url, 'POST', `/api/v1/chatbot/session/${id}/message`, { message: 'during' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('coordination_unavailable');
    expect((await call(server.url, 'GET', '/ready')).status).toBe(503);
    // Reading does not need the lock.
    expect((await call(server.url, 'GET', `/api/v1/chatbot/session/${id}`)).body.message_count).toBe(1);

    await redis.up();
    const res = await sendUntilAnswered(server, id, 'two');
    expect(res.status).toBe(200);
    expect(res.body.message_count).toBe(2);
    const history = (await call(server.url, 'GET', `/api/v1/chatbot/session/${id}`)).body.conversation_history;
    expect(history.filter((m: any) => m.role === 'user').map((m: any) => m.content)).toEqual(['one', 'two']);
  });
});

describe.runIf(runs)('an instance whose PostgreSQL goes away for a while', () => {
  let model: FakeOpenAi;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let server: ServerProcess;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    database = await createTestDatabase();
    const url = new URL(database.url);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    url.host = `127.0.0.1:${proxy.port}`;
    server = await ServerProcess.start({
      entry: 'source',
      env: instanceEnv(url.toString(), TEST_REDIS_URL!, model.url, { DATABASE_CONNECT_TIMEOUT_MS: '1000' }),
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await proxy?.down();
    await model?.close();
    await database?.drop();
  });

  it('answers 503 while the database is unreachable, keeps what it acknowledged, and recovers by itself', async () => {
    const id = (await call(server.url, 'POST', '/api/v1/chatbot/session', { user_id: 'user_pg_outage' })).body.session_id;
    expect((await call(server.url, 'POST', `/api/v1/chatbot/session/${id}/message`, { message: 'one' })).status).toBe(200);

    await proxy.down();
    const refused = await call(server.url, 'POST', `/api/v1/chatbot/session/${id}/message`, { message: 'during' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('store_unavailable');
    expect((await call(server.url, 'GET', `/api/v1/chatbot/session/${id}`)).status).toBe(503);
    expect((await call(server.url, 'GET', '/ready')).status).toBe(503);
    expect((await call(server.url, 'GET', '/health')).status).toBe(200);

    await proxy.up();
    const res = await sendUntilAnswered(server, id, 'two');
    expect(res.status).toBe(200);
    expect(res.body.message_count).toBe(2);
    const history = (await call(server.url, 'GET', `/api/v1/chatbot/session/${id}`)).body.conversation_history;
    expect(history.map((m: any) => m.content)).toEqual(['one', 'Reply to: one', 'two', 'Reply to: two']);
  });
});
