import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';

const errorBody = (code: string) => ({ success: false, error: { code, message: expect.any(String) }, detail: expect.any(String) });

/** The body of every error: our `error`, and FastAPI's `detail` holding the same message. */
function expectErrorBody(body: unknown, code: string): void {
  expect(body).toEqual(errorBody(code));
  const { error, detail } = body as { error: { message: string }; detail: string };
  expect(detail).toBe(error.message);
}

describe('every error path answers clearly and leaves the store unchanged', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let sessionId: string;
  let endedId: string;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { LLM_TIMEOUT_MS: '300', MAX_MESSAGE_LENGTH: '50' }));
    sessionId = await server.createSession('user_errors');
    await server.send(sessionId, 'hello');
    endedId = await server.createSession('user_errors');
    await server.del(`/api/v1/chatbot/session/${endedId}`);
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });
  beforeEach(() => {
    model.faults.length = 0;
  });

  /** Runs a request that must fail with `status` and `code`, and checks the database did not change. */
  async function expectRefused(
    call: () => Promise<{ status: number; body: unknown }>,
    status: number,
    code: string,
  ): Promise<void> {
    await server.chatify.housekeeping.idle();
    const before = dumpDatabase(server.databasePath);
    const res = await call();
    expect({ status: res.status, body: res.body }).toEqual({ status, body: errorBody(code) });
    expect((res.body as { detail: string }).detail).toBe((res.body as { error: { message: string } }).error.message);
    expect(dumpDatabase(server.databasePath)).toBe(before);
    expect((await server.get('/health')).status).toBe(200);
  }

  const session = '/api/v1/chatbot/session';
  const raw = (method: string, path: string, body: string, type = 'application/json') =>
    server.request(method, path, body, { 'content-type': type });

  it('refuses bad session creation', async () => {
    await expectRefused(() => server.post(session, { user_id: 'u1', template_id: 'no-such-template' }), 404, 'template_not_found');
    await expectRefused(() => server.post(session, {}), 422, 'user_required');
    await expectRefused(() => server.post(session, { user_id: 42 }), 422, 'validation_error');
    await expectRefused(() => server.post(session, { user_id: '' }), 422, 'validation_error');
    await expectRefused(() => server.post(session, { user_id: 'x'.repeat(129) }), 422, 'validation_error');
    await expectRefused(() => server.post(session, { user_id: '../../etc/passwd' }), 422, 'validation_error');
    await expectRefused(() => server.post(session, { user_id: "u'; DROP TABLE sessions;--" }), 422, 'validation_error');
    await expectRefused(() => server.post(session, { user_id: 'u1', template_id: '../secrets' }), 422, 'validation_error');
    await expectRefused(() => server.post(session, { user_id: 'u1', template_id: 7 }), 422, 'validation_error');
    await expectRefused(() => raw('POST', session, '{"user_id": "u1"'), 400, 'invalid_json');
    await expectRefused(() => raw('POST', session, '{"user_id":"u1","__proto__":{"admin":true}}'), 400, 'invalid_json');
    await expectRefused(() => raw('POST', session, '{"user_id":"u1","constructor":{"prototype":{"x":1}}}'), 400, 'invalid_json');
    await expectRefused(() => raw('POST', session, 'user_id=u1', 'application/x-www-form-urlencoded'), 400, 'invalid_json');
    await expectRefused(() => raw('POST', session, ''), 422, 'validation_error');
    await expectRefused(() => server.post(session, { user_id: 'u1', pad: 'x'.repeat(300_000) }), 413, 'payload_too_large');
  });

  it('refuses bad messages', async () => {
    const path = `${session}/${sessionId}/message`;
    await expectRefused(() => server.send(sessionId, 'x'.repeat(51)), 422, 'message_too_long');
    await expectRefused(() => server.send(sessionId, ''), 422, 'validation_error');
    await expectRefused(() => server.send(sessionId, '   \n '), 422, 'invalid_text');
    await expectRefused(() => server.send(sessionId, 'null byte \u0000 here'), 422, 'invalid_text');
    await expectRefused(() => raw('POST', path, '{"message":"broken \\ud800 surrogate"}'), 422, 'invalid_text');
    await expectRefused(() => server.post(path, { message: 12 }), 422, 'validation_error');
    await expectRefused(() => server.post(path, { text: 'hi' }), 422, 'validation_error');
    await expectRefused(() => raw('POST', path, 'not json'), 400, 'invalid_json');
    // 50 characters of emoji are 100 UTF-16 units: the limit counts characters.
    const emoji = '😀'.repeat(50);
    const ok = await server.send(sessionId, emoji);
    expect(ok.status).toBe(200);
  });

  it('answers 404 for unknown sessions, UUID or not, on every route', async () => {
    for (const id of ['3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c', 'not-a-uuid', '..%2F..%2Fetc', 'x'.repeat(300)]) {
      await expectRefused(() => server.send(id, 'hi'), 404, 'session_not_found');
      await expectRefused(() => server.get(`${session}/${id}`), 404, 'session_not_found');
      await expectRefused(() => server.del(`${session}/${id}`), 404, 'session_not_found');
    }
  });

  it('answers 409 for ended sessions', async () => {
    await expectRefused(() => server.send(endedId, 'hello?'), 409, 'session_ended');
    await expectRefused(() => server.del(`${session}/${endedId}`), 409, 'session_ended');
  });

  it('maps model failures to 502 and 504 and stores nothing', async () => {
    const calls = model.requests.length;
    model.faults.push({ status: 500 });
    await expectRefused(() => server.send(sessionId, 'will fail'), 502, 'provider_error');
    model.faults.push({ status: 429, retryAfterSeconds: 0 });
    await expectRefused(() => server.send(sessionId, 'will be limited'), 502, 'provider_error');
    model.faults.push({ status: 200, body: '{"choices":[]}' });
    await expectRefused(() => server.send(sessionId, 'will be empty'), 502, 'provider_error');
    model.faults.push({ hang: true });
    await expectRefused(() => server.send(sessionId, 'will time out'), 504, 'provider_timeout');
    expect(model.requests.length).toBe(calls);

    // The next exchange's context holds no unanswered user turn from the failures.
    const ok = await server.send(sessionId, 'after the failures');
    expect(ok.status).toBe(200);
    const contents = model.requests.at(-1)!.messages.map((m) => m.content);
    expect(contents.some((c) => c.startsWith('will '))).toBe(false);
    const roles = model.requests.at(-1)!.messages.slice(1).map((m) => m.role);
    roles.forEach((role, i) => expect(role).toBe(i % 2 === 0 ? 'user' : 'assistant'));
  });

  it('refuses bad paging and listing parameters', async () => {
    await expectRefused(() => server.get(`${session}/${sessionId}?limit=0`), 422, 'validation_error');
    await expectRefused(() => server.get(`${session}/${sessionId}?limit=abc`), 422, 'validation_error');
    await expectRefused(() => server.get(`${session}/${sessionId}?before=-1`), 422, 'validation_error');
    await expectRefused(() => server.get('/api/v1/chatbot/sessions'), 422, 'user_required');
    await expectRefused(() => server.get('/api/v1/chatbot/sessions?user_id=u1&cursor=abc'), 422, 'validation_error');
    await expectRefused(() => server.get('/api/v1/chatbot/sessions?user_id=u1&limit=1000'), 422, 'validation_error');
  });

  it('reads JSON bodies whatever their content type, and accepts a DELETE with an empty JSON body', async () => {
    const plain = await raw('POST', session, '{"user_id":"curl_user"}', 'application/x-www-form-urlencoded');
    expect(plain.status).toBe(200);
    const ended = await server.request('DELETE', `${session}/${plain.body.session_id}`, undefined, { 'content-type': 'application/json' });
    expect(ended.status).toBe(200);
  });

  it('answers undecodable session URLs and broken HTTP with the error shape', async () => {
    await expectRefused(() => server.get(`${session}/%E0%A4%A`), 404, 'session_not_found');
    const { connect } = await import('node:net');
    const url = new URL(server.baseUrl);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write('POST /api/v1/chatbot/session HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}');
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expectErrorBody(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), 'bad_request');
  });

  it('allows the configured origins to call every method from a browser', async () => {
    const preflight = await fetch(`${server.baseUrl}${session}/${sessionId}`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'DELETE' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('DELETE');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PUT');
    const foreign = await fetch(`${server.baseUrl}/health`, { headers: { origin: 'https://evil.example' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends security headers on the API and the web app', async () => {
    for (const path of ['/health', '/api/v1/chatbot/personalities', '/', '/docs/static/index.html', '/api/v1/nothing-here']) {
      const res = await fetch(server.baseUrl + path);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    }
  });

  it('answers unknown routes with the error shape', async () => {
    await expectRefused(() => server.get('/api/v1/nothing-here'), 404, 'not_found');
  });
});

describe('every error body carries detail, the same message where FastAPI clients read it', () => {
  let server: ChatifyServer;
  const ADMIN = 'detail-admin-key';
  beforeAll(async () => {
    server = await ChatifyServer.start({ ADMIN_API_KEY: ADMIN, RATE_LIMIT_USER_SESSIONS_PER_HOUR: '1' });
  });
  afterAll(() => server.close());

  const session = '/api/v1/chatbot/session';
  const admin = { 'x-admin-key': ADMIN };

  /** A raw HTTP request, written as is to a socket; the answer is read until the server closes it. */
  async function rawHttp(request: string): Promise<{ status: number; body: unknown }> {
    const { connect } = await import('node:net');
    const url = new URL(server.baseUrl);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.write(request));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    const body = answer.slice(answer.indexOf('\r\n\r\n') + 4);
    return { status: Number(answer.split(' ')[1]), body: body.startsWith('{') ? JSON.parse(body) : body };
  }
  /** A raw HTTP request the server cannot parse: clientErrorHandler answers on the socket. */
  const brokenHttp = () => rawHttp('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');

  it('on 400, 401, 403, 404, 409, 413, 422, 426, 429 and 431, from every place that answers errors', async () => {
    expect((await server.post(session, { user_id: 'user_detail' })).status).toBe(200);
    const cases: [string, () => Promise<{ status: number; body: unknown }>, number, string][] = [
      ['domain error (ChatError)', () => server.get(`${session}/3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c`), 404, 'session_not_found'],
      ['domain conflict', () => server.request('DELETE', '/api/v1/personalities/friendly-assistant', undefined, admin), 409, 'personality_protected'],
      ['schema validation', () => server.post(session, { user_id: 42 }), 422, 'validation_error'],
      ['rate limit', () => server.post(session, { user_id: 'user_detail' }), 429, 'rate_limited'],
      ['body too large', () => server.post(session, { user_id: 'u1', pad: 'x'.repeat(300_000) }), 413, 'payload_too_large'],
      ['invalid JSON', () => server.request('POST', session, '{"user_id":', { 'content-type': 'application/json' }), 400, 'invalid_json'],
      ['admin key missing', () => server.post('/api/v1/personalities', { name: 'Nope', personalityPrompt: 'You are not allowed.' }), 401, 'admin_key_required'],
      ['admin key wrong', () => server.request('PUT', '/api/v1/settings/universal-rules', { rules: 'x' }, { 'x-admin-key': 'guess' }), 403, 'forbidden'],
      ['no such route (not-found handler)', () => server.get('/api/v1/nothing-here'), 404, 'not_found'],
      ['undecodable URL (router error)', () => server.get(`${session}/%E0%A4%A`), 404, 'session_not_found'],
      ['WebSocket route without upgrade', () => server.get('/api/v1/ws?user_id=user_detail'), 426, 'upgrade_required'],
      ['broken HTTP (raw socket reply)', brokenHttp, 400, 'bad_request'],
      ['header overflow (raw socket reply)', () => server.get(`${session}/${'c'.repeat(20_000)}`), 431, 'bad_request'],
      // Node itself refuses these with an empty body unless told not to.
      ['HTTP/1.1 without Host', () => rawHttp('GET /health HTTP/1.1\r\nConnection: close\r\n\r\n'), 400, 'bad_request'],
      // @fastify/cors refuses these with a plain-text body unless answered first.
      ['OPTIONS that is no CORS preflight', () => server.request('OPTIONS', session), 400, 'bad_request'],
    ];
    for (const [name, call, status, code] of cases) {
      const res = await call();
      expect([name, res.status], JSON.stringify(res.body)).toEqual([name, status]);
      expectErrorBody(res.body, code);
    }
  });

  it('is part of the documented error schema', async () => {
    const spec = (await server.get('/openapi.json')).body;
    expect(spec.components.schemas.Error.properties.detail).toMatchObject({ type: 'string' });
    expect(spec.components.schemas.Error.required).toContain('detail');
  });
});
