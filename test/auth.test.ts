import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const ADMIN = 'admin-key-for-tests';
const key = new TextEncoder().encode(SECRET);
const token = (sub: string, expiresIn = '1h', secret = key) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(expiresIn).sign(secret);
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
/** A token with any claims at all, as a client could forge them with the right secret. */
const rawToken = (claims: Record<string, unknown>) =>
  new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key);
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe('AUTH_MODE=jwt: users kept apart', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let alice: string;
  let bob: string;
  let alicesSession: string;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { AUTH_MODE: 'jwt', JWT_SECRET: SECRET, ADMIN_API_KEY: ADMIN }));
    alice = await token('alice');
    bob = await token('bob');
    const created = await server.request('POST', '/api/v1/chatbot/session', { user_id: 'alice' }, bearer(alice));
    expect(created.status).toBe(200);
    alicesSession = created.body.session_id;
    expect((await server.request('POST', `/api/v1/chatbot/session/${alicesSession}/message`, { message: 'secret' }, bearer(alice))).status).toBe(200);
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it("answers 404 to another user on every route of someone's session, exactly like a missing one", async () => {
    const path = `/api/v1/chatbot/session/${alicesSession}`;
    const missing = '/api/v1/chatbot/session/3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c';
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['POST', '/message', { message: 'let me in' }],
      ['POST', '/message?stream=true', { message: 'let me in' }],
      ['POST', '/regenerate', undefined],
      ['POST', '/regenerate?stream=true', undefined],
      ['POST', '/messages/1/edit', { message: 'let me in' }],
      ['POST', '/messages/2/select', undefined],
      ['GET', '/tree', undefined],
      ['GET', '/export', undefined],
      ['GET', '/export?format=markdown', undefined],
      ['GET', '/stream', undefined],
      ['DELETE', '', undefined],
    ] as const) {
      const other = await server.request(method, path + suffix, body, bearer(bob));
      const none = await server.request(method, missing + suffix, body, bearer(bob));
      expect({ status: other.status, body: other.body }).toEqual({ status: none.status, body: none.body });
      expect(other.status).toBe(404);
      expect(other.body.error.code).toBe('session_not_found');
    }
    // And Alice's session is untouched.
    const mine = await server.request('GET', path, undefined, bearer(alice));
    expect(mine.body).toMatchObject({ status: 'active', message_count: 1 });
  });

  it("imports a file for the signed-in user, whoever's it names", async () => {
    const file = (await server.request('GET', `/api/v1/chatbot/session/${alicesSession}/export`, undefined, bearer(alice))).body;
    expect(file.user_id).toBe('alice');
    const imported = await server.request('POST', '/api/v1/chatbot/sessions/import', file, bearer(bob));
    expect(imported.status).toBe(201);
    expect(imported.body.user_id).toBe('bob');
    expect((await server.request('GET', `/api/v1/chatbot/session/${imported.body.session_id}`, undefined, bearer(alice))).status).toBe(404);
    const aliceAsked = await server.request('POST', '/api/v1/chatbot/sessions/import?user_id=alice', file, bearer(bob));
    expect([aliceAsked.status, aliceAsked.body.error?.code]).toEqual([403, 'user_mismatch']);
  });

  it("refuses a user_id that is not the token's subject", async () => {
    const create = await server.request('POST', '/api/v1/chatbot/session', { user_id: 'alice' }, bearer(bob));
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('user_mismatch');
    const list = await server.request('GET', '/api/v1/chatbot/sessions?user_id=alice', undefined, bearer(bob));
    expect(list.status).toBe(403);
    const own = await server.request('GET', '/api/v1/chatbot/sessions?user_id=alice', undefined, bearer(alice));
    expect(own.body.sessions.map((s: any) => s.session_id)).toEqual([alicesSession]);
  });

  it("keeps memories apart: Bob cannot list, read, change or erase Carol's (404), and his prompts never carry them", async () => {
    const carol = await token('carol');
    const created = await server.request('POST', '/api/v1/memories', { text: 'Carol keeps a secret garden.' }, bearer(carol));
    expect([created.status, created.body.user_id]).toEqual([201, 'carol']);
    const path = `/api/v1/memories/${created.body.id}`;
    for (const [method, url, body] of [
      ['GET', '/api/v1/memories?user_id=carol', undefined],
      ['DELETE', '/api/v1/memories?user_id=carol', undefined],
      ['POST', '/api/v1/memories', { user_id: 'carol', text: 'Planted by Bob.' }],
      ['PUT', path, { text: 'Changed by Bob.' }],
      ['DELETE', path, undefined],
    ] as const) {
      const refused = await server.request(method, url, body, bearer(bob));
      expect([method, url, refused.status, refused.body.error?.code]).toEqual([method, url, 404, 'memory_not_found']);
    }
    expect((await server.request('GET', '/api/v1/memories', undefined, bearer(bob))).body.memories).toEqual([]);
    const mine = await server.request('GET', '/api/v1/memories', undefined, bearer(carol));
    expect(mine.body.memories.map((m: { text: string }) => m.text)).toEqual(['Carol keeps a secret garden.']);
    const bobs = (await server.request('POST', '/api/v1/chatbot/session', {}, bearer(bob))).body.session_id;
    await server.request('POST', `/api/v1/chatbot/session/${bobs}/message`, { message: 'What do you know about me?' }, bearer(bob));
    expect(JSON.stringify(model.requests.at(-1))).not.toContain('secret garden');
    const carols = (await server.request('POST', '/api/v1/chatbot/session', {}, bearer(carol))).body.session_id;
    await server.request('POST', `/api/v1/chatbot/session/${carols}/message`, { message: 'And about me?' }, bearer(carol));
    expect(JSON.stringify(model.requests.at(-1))).toContain('secret garden');
  });

  it('answers 401 without a token, with a bad one and with an expired one', async () => {
    const path = `/api/v1/chatbot/session/${alicesSession}`;
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    const forged = await token('alice', '1h', new TextEncoder().encode('another-secret-that-is-long-enough-too!!'));
    for (const headers of [{}, bearer('not.a.token'), bearer(expired), bearer(forged), { authorization: 'Basic YWxpY2U6eA==' }]) {
      const res = await server.request('GET', path, undefined, headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ success: false, error: { code: 'unauthorized', message: expect.any(String) }, detail: res.body.error.message });
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await server.get('/health')).status).toBe(200);
  });

  it('answers 401 to a token whose sub is not a user id, and to a token without exp', async () => {
    const subjects: unknown[] = [['alice'], 42, { id: 'alice' }, true, '', 'alice smith', '../alice', 'a'.repeat(129)];
    for (const sub of subjects) {
      const res = await server.request('POST', '/api/v1/chatbot/session', {}, bearer(await rawToken({ sub, exp: inAnHour() })));
      expect({ sub, status: res.status, code: res.body.error?.code }).toEqual({ sub, status: 401, code: 'unauthorized' });
    }
    const forever = await server.request('POST', '/api/v1/chatbot/session', {}, bearer(await rawToken({ sub: 'alice' })));
    expect(forever.status).toBe(401);
    expect(forever.body.error).toEqual({ code: 'unauthorized', message: expect.stringContaining('"exp"') });
    // The same claims with a valid subject and an expiry are accepted.
    const good = await server.request('POST', '/api/v1/chatbot/session', {}, bearer(await rawToken({ sub: 'auth0|alice.2', exp: inAnHour() })));
    expect(good.status).toBe(200);
    const listed = await server.request('GET', '/api/v1/chatbot/sessions', undefined, bearer(await token('auth0|alice.2')));
    expect(listed.body.sessions.map((s: any) => [s.session_id, s.user_id])).toEqual([[good.body.session_id, 'auth0|alice.2']]);
  });

  it('needs the admin key for personality and rules changes', async () => {
    const writes = [
      ['POST', '/api/v1/personalities', { name: 'Admin Only', personalityPrompt: 'You answer admins.' }],
      ['POST', '/api/v1/personalities', { name: 'Sneaky Default', personalityPrompt: 'You stay forever.', isDefault: true }],
      ['PUT', '/api/v1/personalities/friendly-assistant', { description: 'changed' }],
      ['PUT', '/api/v1/personalities/friendly-assistant', { isDefault: false }],
      ['DELETE', '/api/v1/personalities/friendly-assistant', undefined],
      ['PUT', '/api/v1/settings/universal-rules', { rules: 'x' }],
    ] as const;
    for (const [method, path, body] of writes) {
      const keyless = await server.request(method, path, body, bearer(alice));
      expect(keyless.status).toBe(401);
      expect(keyless.body.error.code).toBe('admin_key_required');
      const wrong = await server.request(method, path, body, { 'x-admin-key': 'guess' });
      expect(wrong.status).toBe(403);
      expect(wrong.body.error.code).toBe('forbidden');
    }
    const ok = await server.request('PUT', '/api/v1/settings/universal-rules', { rules: 'Be kind.' }, { 'x-admin-key': ADMIN });
    expect(ok.status).toBe(200);
    expect((await server.request('GET', '/api/v1/personalities', undefined, bearer(alice))).status).toBe(200);
    // Nothing the refused writes asked for happened: no new personality, the shipped one still a default.
    expect((await server.request('GET', '/api/v1/personalities/sneaky-default', undefined, bearer(alice))).status).toBe(404);
    expect((await server.request('GET', '/api/v1/personalities/friendly-assistant', undefined, bearer(alice))).body.isDefault).toBe(true);
    // With the key, isDefault is set like any other field.
    const admin = { 'x-admin-key': ADMIN };
    const made = await server.request('POST', '/api/v1/personalities', { name: 'Admin Default', personalityPrompt: 'You stay forever.', isDefault: true }, admin);
    expect([made.status, made.body.isDefault]).toEqual([201, true]);
    expect((await server.request('DELETE', '/api/v1/personalities/admin-default', undefined, admin)).status).toBe(409);
  });
});

describe('AUTH_MODE=jwt with JWT_REQUIRE_EXP=false', () => {
  let server: ChatifyServer;
  beforeAll(async () => {
    server = await ChatifyServer.start({ AUTH_MODE: 'jwt', JWT_SECRET: SECRET, JWT_REQUIRE_EXP: 'false' });
  });
  afterAll(() => server.close());

  it('accepts a token without exp, but still checks its subject and an exp it has', async () => {
    const forever = await server.request('GET', '/api/v1/chatbot/sessions', undefined, bearer(await rawToken({ sub: 'alice' })));
    expect(forever.status).toBe(200);
    expect((await server.request('GET', '/api/v1/chatbot/sessions', undefined, bearer(await rawToken({ sub: ['alice'] })))).status).toBe(401);
    const expired = await rawToken({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 });
    expect((await server.request('GET', '/api/v1/chatbot/sessions', undefined, bearer(expired))).status).toBe(401);
  });
});

describe('AUTH_MODE=jwt with a JWKS URL, issuer and audience (how Firebase Auth ID tokens are checked)', () => {
  let jwks: Server;
  let server: ChatifyServer;
  let sign: (claims: { iss: string; aud: string; sub: string }) => Promise<string>;

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    jwks = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    sign = (claims) =>
      new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).setIssuer(claims.iss).setAudience(claims.aud)
        .setSubject(claims.sub).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    server = await ChatifyServer.start({
      AUTH_MODE: 'jwt',
      JWT_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      JWT_ISSUER: 'https://securetoken.google.com/chatify-demo',
      JWT_AUDIENCE: 'chatify-demo',
    });
  });
  afterAll(async () => {
    await server.close();
    jwks.close();
  });

  it('accepts tokens from the right issuer for the right audience only', async () => {
    const good = await sign({ iss: 'https://securetoken.google.com/chatify-demo', aud: 'chatify-demo', sub: 'firebase-uid-1' });
    const created = await server.request('POST', '/api/v1/chatbot/session', { user_id: 'firebase-uid-1' }, bearer(good));
    expect(created.status).toBe(200);
    const wrongAudience = await sign({ iss: 'https://securetoken.google.com/chatify-demo', aud: 'another-app', sub: 'firebase-uid-1' });
    const wrongIssuer = await sign({ iss: 'https://evil.example', aud: 'chatify-demo', sub: 'firebase-uid-1' });
    for (const bad of [wrongAudience, wrongIssuer]) {
      expect((await server.request('GET', '/api/v1/chatbot/sessions?user_id=firebase-uid-1', undefined, bearer(bad))).status).toBe(401);
    }
  });
});

describe('AUTH_MODE=apikey: trusted servers', () => {
  let server: ChatifyServer;
  beforeAll(async () => {
    server = await ChatifyServer.start({ AUTH_MODE: 'apikey', API_KEYS: 'key-one, key-two' });
  });
  afterAll(() => server.close());

  it('accepts any configured key, from X-API-Key or a bearer token, and refuses others', async () => {
    const body = { user_id: 'someone' };
    expect((await server.request('POST', '/api/v1/chatbot/session', body, { 'x-api-key': 'key-one' })).status).toBe(200);
    expect((await server.request('POST', '/api/v1/chatbot/session', body, bearer('key-two'))).status).toBe(200);
    expect((await server.request('POST', '/api/v1/chatbot/session', body, { 'x-api-key': 'key-three' })).status).toBe(401);
    expect((await server.request('POST', '/api/v1/chatbot/session', body)).status).toBe(401);
    // Without ADMIN_API_KEY, changes to personalities are off when sign-in is on.
    expect((await server.request('PUT', '/api/v1/settings/universal-rules', { rules: 'x' }, { 'x-api-key': 'key-one' })).status).toBe(403);
    expect((await server.request('PUT', '/api/v1/personalities/friendly-assistant', { isDefault: false }, { 'x-api-key': 'key-one' })).status).toBe(403);
  });

  it('refuses to start without keys, or jwt without a secret', async () => {
    await expect(ChatifyServer.start({ AUTH_MODE: 'apikey' })).rejects.toThrow(/API_KEYS/);
    await expect(ChatifyServer.start({ AUTH_MODE: 'jwt' })).rejects.toThrow(/JWT_SECRET/);
    await expect(ChatifyServer.start({ AUTH_MODE: 'jwt', JWT_SECRET: 'short' })).rejects.toThrow(/32/);
  });
});

describe('AUTH_MODE=jwt: keys, limits and defaults follow the signed-in user', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ latencyMs: 300 });
    server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, {
        AUTH_MODE: 'jwt',
        JWT_SECRET: SECRET,
        RATE_LIMIT_USER_MESSAGES_PER_MINUTE: '3',
        RATE_LIMIT_USER_SESSIONS_PER_HOUR: '3',
        RATE_LIMIT_USER_CONCURRENT_STREAMS: '1',
      }),
    );
    alice = await token('alice');
    bob = await token('auth0|bob-64f1c2');
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  const send = (who: string, id: string, message: string, headers: Record<string, string> = {}, query = '') =>
    server.request('POST', `/api/v1/chatbot/session/${id}/message${query}`, { message }, { ...bearer(who), ...headers });

  it('takes the user from the token when user_id is left out', async () => {
    const created = await server.request('POST', '/api/v1/chatbot/session', {}, bearer(bob));
    expect(created.status).toBe(200);
    const mine = await server.request('GET', '/api/v1/chatbot/sessions', undefined, bearer(bob));
    expect(mine.body.sessions.map((s: any) => [s.session_id, s.user_id])).toEqual([[created.body.session_id, 'auth0|bob-64f1c2']]);
    expect((await server.request('GET', '/api/v1/chatbot/usage', undefined, bearer(bob))).body.user_id).toBe('auth0|bob-64f1c2');
  });

  it("never lets a retry with someone's Idempotency-Key see their reply, or reuse it for other text", async () => {
    const id = (await server.request('POST', '/api/v1/chatbot/session', {}, bearer(alice))).body.session_id;
    const first = send(alice, id, 'my secret diagnosis', { 'idempotency-key': 'order-1' });
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first is waiting for the model
    const intruder = await send(bob, id, 'anything', { 'idempotency-key': 'order-1' });
    expect(intruder.status).toBe(404);
    expect(JSON.stringify(intruder.body)).not.toContain('diagnosis');
    const changed = await send(alice, id, 'different text', { 'idempotency-key': 'order-1' });
    expect(changed.status).toBe(422);
    expect(changed.body.error.code).toBe('idempotency_key_reused');
    expect((await first).status).toBe(200);
  });

  it('refuses a keyed stream with bad input or for a foreign session before streaming, freeing nothing it did not take', async () => {
    const dave = await token('dave');
    const id = (await server.request('POST', '/api/v1/chatbot/session', {}, bearer(dave))).body.session_id;
    const blank = await send(dave, id, '   ', { 'idempotency-key': 'bad-1' }, '?stream=true');
    expect(blank.status).toBe(422);
    const foreign = await send(bob, id, 'hello', { 'idempotency-key': 'bad-2' }, '?stream=true');
    expect(foreign.status).toBe(404);
    // Dave's one stream slot is still free.
    const streamed = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(dave) },
      body: JSON.stringify({ message: 'stream please' }),
    });
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toContain('event: done');
  });

  it("charges limits to the caller, never to the owner of a session the caller cannot see", async () => {
    const carol = await token('carol');
    const eve = await token('eve');
    const id = (await server.request('POST', '/api/v1/chatbot/session', {}, bearer(carol))).body.session_id;
    // Eve's attempts on Carol's session count against Eve: 404 while her budget lasts, then 429.
    for (let i = 0; i < 3; i++) expect((await send(eve, id, `spam ${i}`)).status).toBe(404);
    expect((await send(eve, id, 'spam again')).status).toBe(429);
    for (let i = 0; i < 4; i++) {
      expect((await server.request('POST', '/api/v1/chatbot/session', { user_id: 'carol' }, bearer(eve))).status).toBe(403);
    }
    // Carol still has her whole budget: three messages and two more sessions.
    for (let i = 0; i < 3; i++) expect((await send(carol, id, `mine ${i}`)).status).toBe(200);
    expect((await server.request('POST', '/api/v1/chatbot/session', {}, bearer(carol))).status).toBe(200);
  });

  it('refuses a JWKS without issuer and audience', async () => {
    await expect(ChatifyServer.start({ AUTH_MODE: 'jwt', JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json' })).rejects.toThrow(/JWT_ISSUER/);
  });
});
