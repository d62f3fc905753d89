import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { LiveClient } from './support/live-client.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const key = new TextEncoder().encode(SECRET);
const token = (sub: string, expiresIn: string | number = '1h') =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn).sign(key);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('user-to-user chat with sign-in (AUTH_MODE=jwt): the tokens name the participants', () => {
  let server: ChatifyServer;
  const tokens: Record<string, string> = {};
  let id: string;

  const as = (user: string, method: string, path: string, body?: unknown) =>
    server.request(method, path, body, bearer(tokens[user]!));

  beforeAll(async () => {
    server = await ChatifyServer.start({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET });
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = await token(user);
    const created = await as('alice', 'POST', '/api/v1/connections', { user2_id: 'bob' });
    expect(created.status).toBe(201);
    expect(created.body.users).toEqual(['alice', 'bob']);
    id = created.body.id;
    expect((await as('alice', 'POST', `/api/v1/connections/${id}/messages`, { content: 'hi bob' })).status).toBe(201);
  });
  afterAll(() => server.close());

  it('lets the two participants in without naming themselves', async () => {
    const messages = await as('bob', 'GET', `/api/v1/connections/${id}/messages`);
    expect(messages.body.map((m: any) => [m.sender_id, m.content])).toEqual([['alice', 'hi bob']]);
    expect((await as('bob', 'POST', `/api/v1/connections/${id}/read`, { up_to: 1 })).body.unread_count).toBe(0);
    expect((await as('bob', 'GET', '/api/v1/connections')).body.map((c: any) => c.id)).toEqual([id]);
  });

  it('answers 404 to anyone else on every route, exactly like a missing connection', async () => {
    const missing = '3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c';
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['GET', '/messages', undefined],
      ['POST', '/messages', { content: 'let me in' }],
      ['POST', '/read', { up_to: 1 }],
      ['DELETE', '', undefined],
    ] as const) {
      const other = await as('carol', method, `/api/v1/connections/${id}${suffix}`, body);
      const none = await as('carol', method, `/api/v1/connections/${missing}${suffix}`, body);
      expect({ status: other.status, body: other.body }).toEqual({ status: none.status, body: none.body });
      expect(other.body.error.code).toBe('connection_not_found');
    }
    expect((await as('carol', 'GET', '/api/v1/connections')).body).toEqual([]);
    expect((await as('alice', 'GET', `/api/v1/connections/${id}/messages`)).body.length).toBe(1);
  });

  it('refuses to act for someone other than the signed-in user', async () => {
    const impersonate = await as('alice', 'POST', `/api/v1/connections/${id}/messages`, { sender_id: 'bob', content: 'I am bob' });
    expect([impersonate.status, impersonate.body.error.code]).toEqual([403, 'user_mismatch']);
    const matchmaker = await as('carol', 'POST', '/api/v1/connections', { user1_id: 'alice', user2_id: 'bob' });
    expect([matchmaker.status, matchmaker.body.error.code]).toEqual([403, 'user_mismatch']);
    expect((await server.request('GET', `/api/v1/connections/${id}/messages`)).status).toBe(401);
  });

  it('opens live sockets with ?access_token= and refuses them without a valid one', async () => {
    const bob = await LiveClient.connect(server.baseUrl, { access_token: tokens['bob']! });
    const carol = await LiveClient.connect(server.baseUrl, {}, bearer(tokens['carol']!));
    await as('alice', 'POST', `/api/v1/connections/${id}/messages`, { content: 'live now' });
    expect((await bob.next((f) => f.type === 'message')).message.content).toBe('live now');
    await expect(LiveClient.connect(server.baseUrl, {})).rejects.toMatchObject({ status: 401 });
    await expect(LiveClient.connect(server.baseUrl, { access_token: 'forged' })).rejects.toMatchObject({ status: 401 });
    await expect(LiveClient.connect(server.baseUrl, { access_token: tokens['carol']!, user_id: 'bob' })).rejects.toMatchObject({ status: 403 });
    await expect(LiveClient.connect(server.baseUrl, { access_token: tokens['carol']!, connection_id: id })).rejects.toMatchObject({ status: 404 });
    expect(carol.messages()).toEqual([]);
    await Promise.all([bob.close(), carol.close()]);
  });

  it('closes a live socket when its token expires', async () => {
    const shortLived = await token('bob', Math.floor(Date.now() / 1000) + 2);
    const bob = await LiveClient.connect(server.baseUrl, { access_token: shortLived });
    const code = await new Promise<number>((resolve) => bob.socket.once('close', (c) => resolve(c)));
    expect(code).toBe(4001);
  });
});
