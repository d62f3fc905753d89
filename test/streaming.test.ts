import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';
import { readEvents } from './support/sse.js';

const LONG_REPLY = 'Once upon a time there was a tiny server that streamed every single word as soon as it could.';

describe('streamed replies (Server-Sent Events)', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ tokenDelayMs: 40 });
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });
  beforeEach(() => {
    model.reply = () => LONG_REPLY;
    model.faults.length = 0;
  });

  const stream = (id: string, message: string, how: 'header' | 'query' = 'header', abort?: AbortController) =>
    fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message${how === 'query' ? '?stream=true' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(how === 'header' ? { accept: 'text/event-stream' } : {}) },
      body: JSON.stringify({ message }),
      signal: abort?.signal,
    });

  it('sends deltas as the model produces them, then done with the stored reply', async () => {
    const id = await server.createSession('user_stream');
    const response = await stream(id, 'Tell me a story');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(response);

    const deltas = events.filter((e) => e.event === 'delta');
    expect(deltas.length).toBeGreaterThan(5);
    // The first piece reached the client before the model had even finished its answer.
    expect(deltas[0]!.at).toBeLessThan(model.streamEndTimes.at(-1)!);
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    expect(events.filter((e) => e.event === 'done')).toHaveLength(1);
    expect(done.data).toEqual({
      success: true,
      message: null,
      error: null,
      session_id: id,
      response: LONG_REPLY,
      message_count: 1,
    });
    expect(deltas.map((d) => d.data.text).join('')).toBe(LONG_REPLY);
    expect(model.requests.at(-1)!.stream).toBe(true);

    const stored = (await server.get(`/api/v1/chatbot/session/${id}`)).body.conversation_history;
    expect(stored.map((m: any) => m.content)).toEqual(['Tell me a story', LONG_REPLY]);
  });

  it('accepts ?stream=true instead of the Accept header', async () => {
    const id = await server.createSession('user_stream');
    const events = await readEvents(await stream(id, 'hello', 'query'));
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { response: LONG_REPLY, message_count: 1 } });
  });

  it('completes and stores the whole reply when the client goes away mid-stream', async () => {
    const id = await server.createSession('user_stream');
    const abort = new AbortController();
    const streamsBefore = model.streamEndTimes.length;
    const events = await readEvents(await stream(id, 'I will leave early', 'header', abort), () => 'stop', abort);
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toBe('delta');

    // Give the model time to finish its answer.
    for (let i = 0; i < 100 && model.streamEndTimes.length === streamsBefore; i++) await sleep(20);
    let read = await server.get(`/api/v1/chatbot/session/${id}`);
    for (let i = 0; i < 50 && read.body.message_count === 0; i++) {
      await sleep(20);
      read = await server.get(`/api/v1/chatbot/session/${id}`);
    }
    expect(read.body.message_count).toBe(1);
    expect(read.body.conversation_history.map((m: any) => m.content)).toEqual(['I will leave early', LONG_REPLY]);

    // And the conversation goes on with that reply in its context.
    model.reply = () => 'short';
    const next = await server.send(id, 'back again');
    expect(next.body.message_count).toBe(2);
    expect(model.requests.at(-1)!.messages.slice(1).map((m) => m.content)).toEqual([
      'I will leave early',
      LONG_REPLY,
      'back again',
    ]);
  });

  it('ends with an error event when the model fails, storing nothing', async () => {
    const id = await server.createSession('user_stream');
    const before = dumpDatabase(server.databasePath);
    model.faults.push({ status: 500 });
    const events = await readEvents(await stream(id, 'doomed'));
    expect(events).toEqual([{ event: 'error', data: { code: 'provider_error', message: expect.any(String) }, at: expect.any(Number) }]);
    expect(dumpDatabase(server.databasePath)).toBe(before);
  });

  it('refuses unknown and ended sessions and bad input with a plain JSON error before streaming', async () => {
    const unknown = await stream('3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c', 'hi');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ success: false, error: { code: 'session_not_found' } });
    const id = await server.createSession('user_stream');
    const empty = await stream(id, '   ');
    expect(empty.status).toBe(422);
    await server.del(`/api/v1/chatbot/session/${id}`);
    const ended = await stream(id, 'hi');
    expect(ended.status).toBe(409);
    expect(await ended.json()).toMatchObject({ error: { code: 'session_ended' } });
  });

  it('keeps arrival order for concurrent streamed and plain sends', async () => {
    model.reply = (request) => `Reply to: ${request.messages.at(-1)!.content}`;
    const id = await server.createSession('user_stream_order');
    const texts = ['one', 'two', 'three', 'four', 'five', 'six'];
    const results = await Promise.all(
      texts.map(async (text, i) =>
        i % 2 === 0 ? (await readEvents(await stream(id, text))).at(-1)!.data : (await server.send(id, text)).body,
      ),
    );
    expect(results.map((r) => r.message_count).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const history = (await server.get(`/api/v1/chatbot/session/${id}`)).body.conversation_history;
    for (let i = 0; i < history.length; i += 2) {
      expect(history[i].role).toBe('user');
      expect(history[i + 1].content).toBe(`Reply to: ${history[i].content}`);
    }
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a model that stops mid-answer', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { LLM_TIMEOUT_MS: '400' }));
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('times out a stalled stream, stores nothing and leaves the session usable', async () => {
    const id = await server.createSession('user_stall');
    const before = dumpDatabase(server.databasePath);
    model.faults.push({ stallAfterTokens: 2 });
    const response = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'tell me everything' }),
    });
    const events = await readEvents(response);
    expect(events.filter((e) => e.event === 'delta').length).toBe(2);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'provider_timeout' } });
    expect(dumpDatabase(server.databasePath)).toBe(before);
    expect((await server.send(id, 'are you back?')).body).toMatchObject({ message_count: 1 });
    expect((await server.del(`/api/v1/chatbot/session/${id}`)).status).toBe(200);
  });

  it('times out a plain answer whose body never completes', async () => {
    const id = await server.createSession('user_stall');
    model.faults.push({ stallAfterTokens: 0 });
    const res = await server.send(id, 'hello?');
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('provider_timeout');
    expect((await server.send(id, 'again')).status).toBe(200);
  });
});
