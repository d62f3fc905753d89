import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEventStream, type ServerEvent } from '../src/client/event-stream.js';
import { ChatifyServer, NO_RATE_LIMITS } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { createTestDatabase, postgresConfigured } from './support/postgres.js';
import { redisConfigured, TEST_REDIS_URL } from './support/redis.js';
import { ServerProcess } from './support/server-process.js';

/** Twenty-four words, one piece each. */
const LONG_REPLY = Array.from({ length: 24 }, (_, i) => `piece${i + 1}`).join(' ');

/** Reads a stream's events; `stopAfter` deltas, then drops the connection (a phone changing networks). */
async function read(url: string, init: RequestInit = {}, stopAfter?: number): Promise<{ status: number; events: ServerEvent[] }> {
  const abort = new AbortController();
  const res = await fetch(url, { ...init, signal: abort.signal });
  const events: ServerEvent[] = [];
  if (res.status !== 200) return { status: res.status, events };
  try {
    for await (const event of readEventStream(res.body!)) {
      events.push(event);
      if (stopAfter !== undefined && events.filter((e) => e.event === 'delta').length === stopAfter) {
        abort.abort();
        break;
      }
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  }
  return { status: res.status, events };
}

const text = (events: ServerEvent[]) => events.filter((e) => e.event === 'delta').map((e) => (e.data as { text: string }).text).join('');
const send = (base: string, id: string, message: string) =>
  read(`${base}/api/v1/chatbot/session/${id}/message`, {
    method: 'POST',
    headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });

describe.runIf(postgresConfigured() && redisConfigured())('a reply attached to from another instance (PostgreSQL + Redis)', () => {
  let model: FakeOpenAi;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let redis: Redis;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ tokenDelayMs: 40 });
    model.reply = () => LONG_REPLY;
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL!,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: model.url,
      LLM_MAX_RETRIES: '0',
      LOG_LEVEL: 'warn',
      ...NO_RATE_LIMITS,
    };
    a = await ServerProcess.start({ entry: 'source', env });
    b = await ServerProcess.start({ entry: 'source', env });
    redis = new Redis(TEST_REDIS_URL!);
  });
  afterAll(async () => {
    redis?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await model?.close();
    await database?.drop();
  });

  it('gives a client that read five deltas on A exactly the rest and done on B, and a second client all of it', async () => {
    const created = await fetch(`${a.url}/api/v1/chatbot/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u_resume' }),
    });
    const id = ((await created.json()) as { session_id: string }).session_id;
    const stream = `/api/v1/chatbot/session/${id}/stream`;
    const first = await read(`${a.url}/api/v1/chatbot/session/${id}/message`, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Tell me a long story' }),
    }, 5);
    expect(first.events.map((e) => [e.event, e.id])).toEqual([1, 2, 3, 4, 5].map((n) => ['delta', n]));
    // The reply goes on on A; its pieces are in Redis, where B reads them.
    expect(await redis.get(`chatify:reply:${id}`)).toBeTruthy();
    const [rest, everything] = await Promise.all([
      read(b.url + stream, { headers: { 'last-event-id': '5' } }),
      read(b.url + stream),
    ]);
    expect(rest.status).toBe(200);
    const done = rest.events.at(-1)!;
    expect(done.event).toBe('done');
    expect(rest.events.map((e) => e.id)).toEqual(Array.from({ length: rest.events.length }, (_, i) => i + 6));
    expect(text(first.events) + text(rest.events)).toBe(LONG_REPLY);
    expect(everything.events).toEqual([...first.events, ...rest.events]);

    const stored = await (await fetch(`${b.url}/api/v1/chatbot/session/${id}`)).json() as { conversation_history: { content: string }[] };
    expect(stored.conversation_history.at(-1)!.content).toBe(LONG_REPLY);
    expect(done.data).toEqual({ success: true, message: null, error: null, session_id: id, response: LONG_REPLY, message_count: 1 });
  });
});

describe('attaching to a reply on one instance', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ tokenDelayMs: 20 });
    model.reply = () => LONG_REPLY;
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { STREAM_RESUME_TTL_S: '1' }));
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });
  const streamOf = (id: string) => `${server.baseUrl}/api/v1/chatbot/session/${id}/stream`;

  it('replays a finished reply within STREAM_RESUME_TTL_S, then answers 204', async () => {
    const id = await server.createSession('u_ttl');
    expect((await read(streamOf(id))).status).toBe(204);
    const sent = await send(server.baseUrl, id, 'Hello');
    expect(sent.events.at(-1)!.event).toBe('done');
    const again = await read(streamOf(id));
    expect(again.events).toEqual(sent.events);
    const tail = await read(`${streamOf(id)}?after=20`);
    expect(tail.events).toEqual(sent.events.slice(20));
    // Ended sessions keep their last reply for the TTL too.
    await server.del(`/api/v1/chatbot/session/${id}`);
    expect((await read(streamOf(id))).events).toEqual(sent.events);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect((await read(streamOf(id))).status).toBe(204);
  });

  it('gives attached clients the same error event when the model fails mid-reply', async () => {
    const id = await server.createSession('u_fail');
    model.faults.push({ endAfterTokens: 6 });
    const [sent, attached] = await Promise.all([
      send(server.baseUrl, id, 'Fail please'),
      new Promise((resolve) => setTimeout(resolve, 60)).then(() => read(streamOf(id))),
    ]);
    const failure = sent.events.at(-1)!;
    expect(failure).toMatchObject({ event: 'error', id: 7, data: { code: 'provider_error' } });
    expect(attached.events.at(-1)).toEqual(failure);
    expect(attached.events).toEqual(sent.events);
  });

  it('refuses a bad Last-Event-ID (422) and an unknown session (404)', async () => {
    const id = await server.createSession('u_bad_cursor');
    const bad = await fetch(streamOf(id), { headers: { 'last-event-id': 'five' } });
    expect(bad.status).toBe(422);
    const missing = await fetch(streamOf('3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c'));
    expect(missing.status).toBe(404);
  });
});
