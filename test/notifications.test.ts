import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { LiveClient } from './support/live-client.js';
import { createTestDatabase, postgresConfigured } from './support/postgres.js';
import { redisConfigured, TEST_REDIS_URL } from './support/redis.js';

interface Hook {
  headers: IncomingMessage['headers'];
  body: any;
}

/** A webhook receiver that fails the first `failures` calls with 503. */
async function webhookReceiver(failures = 0) {
  const calls: Hook[] = [];
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => {
      calls.push({ headers: request.headers, body: JSON.parse(text) });
      response.statusCode = calls.length <= failures ? 503 : 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, calls, close: () => new Promise((resolve) => server.close(resolve)) };
}

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

async function startPair(server: ChatifyServer, user1: string, user2: string) {
  return (await server.post('/api/v1/connections', { user1_id: user1, user2_id: user2 })).body.id as string;
}

describe('notifying a recipient who has no live socket', () => {
  it('calls the webhook, retrying when it fails, and not when the recipient is connected', async () => {
    const hook = await webhookReceiver(2);
    const server = await ChatifyServer.start({ NOTIFY_WEBHOOK_URL: hook.url, NOTIFY_WEBHOOK_RETRIES: '4' }, { deps: { notifiers: { webhookMinTimeoutMs: 10 } } });
    try {
      const id = await startPair(server, 'amy', 'bo');
      const sent = await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'amy', content: 'you there?' });
      expect(sent.status).toBe(201);
      await until(() => hook.calls.length === 3);
      expect(hook.calls.map((c) => c.headers['x-chatify-delivery'])).toEqual(Array(3).fill(hook.calls[0]!.headers['x-chatify-delivery']));
      expect(hook.calls[2]!.body).toMatchObject({
        type: 'message',
        user_id: 'bo',
        connection_id: id,
        message: { id: sent.body.id, seq: 1, sender_id: 'amy', content: 'you there?' },
        unread_count: 1,
      });

      // Bo connects: the next message reaches the socket and the webhook hears nothing more.
      const bo = await LiveClient.connect(server.baseUrl, { user_id: 'bo' });
      await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'amy', content: 'oh hi' });
      await bo.next((f) => f.type === 'message');
      // Amy (the sender) has no socket: she is not notified of her own message either.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(hook.calls.length).toBe(3);
      await bo.close();
    } finally {
      await server.close();
      await hook.close();
    }
  });

  it('counts a socket watching one connection as online for that connection only', async () => {
    const hook = await webhookReceiver();
    const server = await ChatifyServer.start({ NOTIFY_WEBHOOK_URL: hook.url });
    try {
      const watched = await startPair(server, 'gia', 'hal');
      const other = await startPair(server, 'ivo', 'hal');
      const hal = await LiveClient.connect(server.baseUrl, { user_id: 'hal', connection_id: watched });
      await server.post(`/api/v1/connections/${other}/messages`, { sender_id: 'ivo', content: 'elsewhere' });
      await until(() => hook.calls.length === 1);
      expect(hook.calls[0]!.body).toMatchObject({ user_id: 'hal', connection_id: other });
      await server.post(`/api/v1/connections/${watched}/messages`, { sender_id: 'gia', content: 'right here' });
      expect((await hal.next((f) => f.type === 'message')).message.content).toBe('right here');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(hook.calls.length).toBe(1);
      expect(hal.messages().map((f) => f.connection_id)).toEqual([watched]);
      await hal.close();
    } finally {
      await server.close();
      await hook.close();
    }
  });

  it('leaves the text out of notifications when NOTIFY_INCLUDE_TEXT=false', async () => {
    const hook = await webhookReceiver();
    const server = await ChatifyServer.start({ NOTIFY_WEBHOOK_URL: hook.url, NOTIFY_INCLUDE_TEXT: 'false' });
    try {
      const id = await startPair(server, 'cy', 'di');
      await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'cy', content: 'a secret' });
      await until(() => hook.calls.length === 1);
      expect(hook.calls[0]!.body.message.content).toBeNull();
      expect(JSON.stringify(hook.calls[0]!.body)).not.toContain('a secret');
    } finally {
      await server.close();
      await hook.close();
    }
  });
});

describe.runIf(postgresConfigured() && redisConfigured())('live delivery across two instances (PostgreSQL + Redis)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: ChatifyServer;
  let b: ChatifyServer;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;

  beforeAll(async () => {
    database = await createTestDatabase();
    hook = await webhookReceiver();
    const env = { DATABASE_URL: database.url, REDIS_URL: TEST_REDIS_URL!, NOTIFY_WEBHOOK_URL: hook.url };
    a = await ChatifyServer.start(env);
    b = await ChatifyServer.start(env);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await hook?.close();
    await database?.drop();
  });

  it('delivers a message sent to one instance to a socket on the other, and notifies no one', async () => {
    const id = await startPair(a, 'eli', 'flo');
    const flo = await LiveClient.connect(a.baseUrl, { user_id: 'flo' });
    const eli = await LiveClient.connect(b.baseUrl, { user_id: 'eli' });
    for (const [server, sender, text] of [
      [b, 'eli', 'from b'],
      [a, 'eli', 'from a'],
      [b, 'flo', 'back via b'],
    ] as const) {
      expect((await server.post(`/api/v1/connections/${id}/messages`, { sender_id: sender, content: text })).status).toBe(201);
    }
    expect((await flo.waitForMessages(id, 3)).map((f) => [f.message.seq, f.message.content])).toEqual([
      [1, 'from b'],
      [2, 'from a'],
      [3, 'back via b'],
    ]);
    expect((await eli.waitForMessages(id, 3)).map((f) => f.message.seq)).toEqual([1, 2, 3]);
    eli.send({ type: 'typing', connection_id: id });
    expect(await flo.next((f) => f.type === 'typing')).toMatchObject({ user_id: 'eli' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(hook.calls).toEqual([]);
    await Promise.all([flo.close(), eli.close()]);
  });

  it('resumes on the other instance exactly where the client left off', async () => {
    const id = await startPair(b, 'gil', 'hoa');
    const first = await LiveClient.connect(a.baseUrl, { user_id: 'hoa' });
    await b.post(`/api/v1/connections/${id}/messages`, { sender_id: 'gil', content: 'one' });
    await first.waitForMessages(id, 1);
    await first.close();
    await a.post(`/api/v1/connections/${id}/messages`, { sender_id: 'gil', content: 'two' });
    // This time watching only this connection (its own Redis channel), resuming with a bare seq.
    const second = await LiveClient.connect(b.baseUrl, { user_id: 'hoa', connection_id: id, after: '1' });
    await b.post(`/api/v1/connections/${id}/messages`, { sender_id: 'gil', content: 'three' });
    expect((await second.waitForMessages(id, 2)).map((f) => f.message.content)).toEqual(['two', 'three']);
    await second.close();
  });
});
