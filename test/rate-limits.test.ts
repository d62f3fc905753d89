import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';
import { floodTyping, LiveClient } from './support/live-client.js';
import { createTestDatabase, postgresConfigured } from './support/postgres.js';
import { redisConfigured, TEST_REDIS_URL } from './support/redis.js';

describe('abuse limits', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, {
        RATE_LIMIT_USER_MESSAGES_PER_MINUTE: '3',
        RATE_LIMIT_IP_MESSAGES_PER_MINUTE: '5',
        RATE_LIMIT_USER_SESSIONS_PER_HOUR: '3',
        RATE_LIMIT_IP_SESSIONS_PER_HOUR: '6',
      }),
    );
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('limits messages per user per minute with 429 and Retry-After, storing nothing', async () => {
    const id = await server.createSession('user_chatty');
    for (let i = 1; i <= 3; i++) expect((await server.send(id, `m${i}`)).status).toBe(200);
    await server.chatify.housekeeping.idle();
    const before = dumpDatabase(server.databasePath);
    const calls = model.requests.length;
    const refused = await server.send(id, 'one too many');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      success: false,
      error: { code: 'rate_limited', message: expect.stringContaining('messages') },
      detail: refused.body.error.message,
    });
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    expect(dumpDatabase(server.databasePath)).toBe(before);
    expect(model.requests.length).toBe(calls);
  });

  it('limits messages per IP across users (refused attempts count too)', async () => {
    // Four attempts came from this address above (three answered, one refused); the limit is five.
    const other = await server.createSession('user_quiet');
    expect((await server.send(other, 'first')).status).toBe(200);
    const refused = await server.send(other, 'second');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
  });

  it('limits new sessions per user per hour, and per IP', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await server.post('/api/v1/chatbot/session', { user_id: 'user_hoarder' })).status);
    // user_chatty and user_quiet already started one each from this address.
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Six session attempts from this address now: a user who never started one is refused too.
    const ipLimited = await server.post('/api/v1/chatbot/session', { user_id: 'user_fresh' });
    expect(ipLimited.status).toBe(429);
    expect(ipLimited.body.error.message).toContain('sessions');
  });
});

describe('replies streaming at once', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ latencyMs: 300 });
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { RATE_LIMIT_USER_CONCURRENT_STREAMS: '1' }));
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('allows a user one stream at a time here, and frees the slot when it ends', async () => {
    const first = await server.createSession('user_streamer');
    const second = await server.createSession('user_streamer');
    const stream = (id: string) =>
      fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'go' }),
      });
    const running = stream(first);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await stream(second);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(((await refused.json()) as any).error.code).toBe('rate_limited');
    expect((await (await running).text()).includes('event: done')).toBe(true);
    const later = await stream(second);
    expect(later.status).toBe(200);
    expect(await later.text()).toContain('event: done');
    // Plain sends are not streams.
    expect((await server.send(first, 'plain')).status).toBe(200);
  });
});

describe('a daily token quota per user', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { TOKEN_QUOTA_PER_USER_PER_DAY: '100' }));
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('counts the tokens the model reports and refuses once they are used up', async () => {
    const id = await server.createSession('user_quota');
    let sent = 0;
    let refused: Awaited<ReturnType<typeof server.send>> | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await server.send(id, `question number ${i}`);
      if (res.status === 200) sent += 1;
      else refused = res;
    }
    expect(sent).toBeGreaterThan(0);
    expect(refused?.status).toBe(429);
    expect(refused?.body.error.code).toBe('token_quota_exceeded');
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(3600);
    const usage = (await server.get('/api/v1/chatbot/usage?user_id=user_quota')).body;
    expect(usage.total_tokens).toBeGreaterThanOrEqual(100);
    // Another user still has their allowance.
    const other = await server.createSession('user_fresh_quota');
    expect((await server.send(other, 'hello')).status).toBe(200);
  });
});

describe('abuse limits on messages between people', () => {
  let server: ChatifyServer;
  beforeAll(async () => {
    server = await ChatifyServer.start({ RATE_LIMIT_USER_PEOPLE_MESSAGES_PER_MINUTE: '3', RATE_LIMIT_IP_PEOPLE_MESSAGES_PER_MINUTE: '5' });
  });
  afterAll(() => server.close());

  it('limits per sender and per IP with 429 and Retry-After, storing nothing', async () => {
    const id = (await server.post('/api/v1/connections', { user1_id: 'spammer', user2_id: 'victim' })).body.id;
    const send = (sender: string, content: string) => server.post(`/api/v1/connections/${id}/messages`, { sender_id: sender, content });
    for (let i = 1; i <= 3; i++) expect((await send('spammer', `m${i}`)).status).toBe(201);
    const refused = await send('spammer', 'one too many');
    expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The other participant has a budget of their own, but the address has one more message left.
    expect((await send('victim', 'stop it')).status).toBe(201);
    expect((await send('victim', 'please')).status).toBe(429);
    const stored = (await server.get(`/api/v1/connections/${id}/messages`)).body;
    expect(stored.map((m: any) => m.content)).toEqual(['m1', 'm2', 'm3', 'stop it']);
  });

  it('counts messages sent over a live socket against the same limit', async () => {
    const own = await ChatifyServer.start({ RATE_LIMIT_USER_PEOPLE_MESSAGES_PER_MINUTE: '2' });
    try {
      const id = (await own.post('/api/v1/connections', { user1_id: 'socket_spammer', user2_id: 'socket_victim' })).body.id;
      const client = await LiveClient.connect(own.baseUrl, { user_id: 'socket_spammer' });
      for (let i = 1; i <= 3; i++) client.send({ type: 'send', connection_id: id, content: `s${i}`, client_id: `k${i}` });
      expect(await client.next((f) => f.type === 'error')).toMatchObject({ client_id: 'k3', error: { code: 'rate_limited' } });
      // Answered in order: both sends before the refusal.
      expect(client.frames.filter((f) => f.type === 'sent').map((f) => f.client_id)).toEqual(['k1', 'k2']);
      await client.close();
      expect((await own.get(`/api/v1/connections/${id}/messages`)).body.map((m: any) => m.content)).toEqual(['s1', 's2']);
    } finally {
      await own.close();
    }
  });
});

describe('abuse limits on read receipts and new connections between people', () => {
  let server: ChatifyServer;
  beforeAll(async () => {
    server = await ChatifyServer.start({ RATE_LIMIT_USER_READ_RECEIPTS_PER_MINUTE: '3', RATE_LIMIT_USER_CONNECTIONS_PER_HOUR: '2' });
  });
  afterAll(() => server.close());

  const readUpTo = async (id: string, userId: string) =>
    (await server.get(`/api/v1/connections?user_id=${userId}`)).body.find((c: any) => c.id === id).read_up_to;

  it('limits read receipts per user per minute, over HTTP and the socket alike, moving nothing', async () => {
    const id = (await server.post('/api/v1/connections', { user1_id: 'reader', user2_id: 'writer' })).body.id;
    for (let i = 1; i <= 5; i++) await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'writer', content: `m${i}` });
    const read = (upTo: number) => server.post(`/api/v1/connections/${id}/read`, { user_id: 'reader', up_to: upTo });
    for (const upTo of [1, 2, 3]) expect((await read(upTo)).status).toBe(200);
    const refused = await read(4);
    expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
    expect(refused.body.error.message).toContain('read receipts');
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(60);
    expect(await readUpTo(id, 'reader')).toBe(3);

    // The socket spends the same budget: an error frame, and the position stays.
    const socket = await LiveClient.connect(server.baseUrl, { user_id: 'reader' });
    socket.send({ type: 'read', connection_id: id, up_to: 5 });
    expect((await socket.next((f) => f.type === 'error')).error).toMatchObject({ code: 'rate_limited', message: expect.stringContaining('read receipts') });
    await socket.close();
    expect(await readUpTo(id, 'reader')).toBe(3);
    // The other user has a budget of their own.
    expect((await server.post(`/api/v1/connections/${id}/read`, { user_id: 'writer', up_to: 5 })).status).toBe(200);
  });

  it('limits new connections per user per hour; re-opening one, or a refused request, does not count', async () => {
    const open = (user1: string, user2: string) => server.post('/api/v1/connections', { user1_id: user1, user2_id: user2 });
    expect((await open('maker', 'pal1')).status).toBe(201);
    for (let i = 0; i < 3; i++) expect((await open('maker', 'pal1')).status).toBe(200);
    expect((await open('maker', 'maker')).status).toBe(422);
    expect((await open('maker', 'pal2')).status).toBe(201);

    const refused = await open('maker', 'pal3');
    expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
    expect(refused.body.error.message).toContain('new connections');
    const wait = Number(refused.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(3600);
    expect((await server.get('/api/v1/connections?user_id=pal3')).body).toEqual([]);
    // The limit is the creator's: pal3 may still connect to maker.
    expect((await open('pal3', 'maker')).status).toBe(201);
  });
});

describe.runIf(postgresConfigured() && redisConfigured())('people limits across two instances (PostgreSQL + Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: ChatifyServer;
  let b: ChatifyServer;
  // Counters live in Redis for up to an hour: names of this run's own.
  const run = Math.random().toString(36).slice(2, 8);
  const user = (name: string) => `${name}_${run}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL!,
      RATE_LIMIT_USER_READ_RECEIPTS_PER_MINUTE: '2',
      RATE_LIMIT_USER_CONNECTIONS_PER_HOUR: '2',
    };
    a = await ChatifyServer.start(env);
    b = await ChatifyServer.start(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('shares the read-receipt and new-connection counters', async () => {
    expect((await a.get('/ready')).body).toMatchObject({ store: 'postgres', coordination: 'redis' });
    const created = await a.post('/api/v1/connections', { user1_id: user('ada'), user2_id: user('bea') });
    expect(created.status).toBe(201);
    // Re-opened on the other instance: not new, not counted; one more new one, then the limit, wherever.
    expect((await b.post('/api/v1/connections', { user1_id: user('ada'), user2_id: user('bea') })).status).toBe(200);
    expect((await b.post('/api/v1/connections', { user1_id: user('ada'), user2_id: user('cid') })).status).toBe(201);
    expect((await a.post('/api/v1/connections', { user1_id: user('ada'), user2_id: user('dan') })).status).toBe(429);

    const id = created.body.id;
    for (let i = 1; i <= 3; i++) await a.post(`/api/v1/connections/${id}/messages`, { sender_id: user('bea'), content: `m${i}` });
    const read = (server: ChatifyServer, upTo: number) => server.post(`/api/v1/connections/${id}/read`, { user_id: user('ada'), up_to: upTo });
    expect((await read(a, 1)).status).toBe(200);
    expect((await read(b, 2)).status).toBe(200);
    expect((await read(a, 3)).status).toBe(429);
  });

  it('relays at most one typing signal a second per user and connection over sockets on both instances', async () => {
    const id = (await a.post('/api/v1/connections', { user1_id: user('dot'), user2_id: user('eve') })).body.id;
    const eve = await LiveClient.connect(b.baseUrl, { user_id: user('eve') });
    const dot = await Promise.all([a, b, a, b].map((server) => LiveClient.connect(server.baseUrl, { user_id: user('dot') })));
    try {
      const elapsed = await floodTyping(dot, id, 2200);
      // Through Redis in order: every relayed signal reaches eve before this message.
      await a.post(`/api/v1/connections/${id}/messages`, { sender_id: user('dot'), content: 'done' });
      await eve.next((f) => f.type === 'message');
      const relayed = eve.frames.filter((f) => f.type === 'typing');
      expect(relayed.length).toBeGreaterThanOrEqual(2);
      expect(relayed.length).toBeLessThanOrEqual(Math.floor(elapsed / 1000) + 1);
    } finally {
      await Promise.all([eve, ...dot].map((client) => client.close()));
    }
  });
});

describe('abuse limits on the message tree', () => {
  it('counts regenerates and edits as messages: over the limit they are refused (429) and store nothing', async () => {
    const model = await FakeOpenAi.start();
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { RATE_LIMIT_USER_MESSAGES_PER_MINUTE: '2' }));
    try {
      const id = await server.createSession('user_branchy');
      expect((await server.send(id, 'hello')).status).toBe(200);
      expect((await server.post(`/api/v1/chatbot/session/${id}/regenerate`)).status).toBe(200);
      await server.chatify.housekeeping.idle();
      const before = dumpDatabase(server.databasePath);
      const calls = model.requests.length;
      for (const refused of [
        await server.post(`/api/v1/chatbot/session/${id}/regenerate`),
        await server.post(`/api/v1/chatbot/session/${id}/messages/1/edit`, { message: 'hi' }),
      ]) {
        expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      expect(dumpDatabase(server.databasePath)).toBe(before);
      expect(model.requests.length).toBe(calls);
    } finally {
      await server.close();
      await model.close();
    }
  });
});

describe('abuse limits on attaching to replies', () => {
  it('counts attaches as messages: over the limit an attach is refused (429)', async () => {
    const model = await FakeOpenAi.start();
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { RATE_LIMIT_USER_MESSAGES_PER_MINUTE: '2' }));
    try {
      const id = await server.createSession('user_attaching');
      expect((await server.send(id, 'hello')).status).toBe(200);
      expect((await server.get(`/api/v1/chatbot/session/${id}/stream`)).status).toBe(204);
      const refused = await server.get(`/api/v1/chatbot/session/${id}/stream`);
      expect([refused.status, refused.body.error.code]).toEqual([429, 'rate_limited']);
    } finally {
      await server.close();
      await model.close();
    }
  });
});
