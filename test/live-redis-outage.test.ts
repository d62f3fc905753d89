import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { LiveClient } from './support/live-client.js';
import { OwnRedis, redisConfigured } from './support/redis.js';

describe.runIf(redisConfigured())('live delivery when Redis goes away and comes back', () => {
  let redis: OwnRedis;
  let server: ChatifyServer;
  beforeAll(async () => {
    redis = await OwnRedis.start();
    server = await ChatifyServer.start({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await server?.close();
    await redis?.down();
  });

  it('stores and acknowledges messages meanwhile, and sends them to sockets once Redis is back', async () => {
    const id = (await server.post('/api/v1/connections', { user1_id: 'rita', user2_id: 'sam' })).body.id;
    const sam = await LiveClient.connect(server.baseUrl, { user_id: 'sam' });
    await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'rita', content: 'before' });
    await sam.waitForMessages(id, 1);

    await redis.down();
    const during = await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'rita', content: 'during' });
    expect(during.status).toBe(201);
    expect(during.body.seq).toBe(2);
    await redis.up();

    // Nobody sends anything else: the socket still gets the message, once.
    expect((await sam.waitForMessages(id, 2, 15_000)).map((f) => f.message.content)).toEqual(['before', 'during']);
    await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'rita', content: 'after' });
    expect((await sam.waitForMessages(id, 3, 10_000)).map((f) => f.message.seq)).toEqual([1, 2, 3]);
    await sam.close();
  });
});
