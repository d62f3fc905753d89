import { describe, expect, it } from 'vitest';
import { useModelAndServer } from './support/model-and-server.js';
import { ChatifyServer } from './support/chatify-server.js';
import { readEvents } from './support/sse.js';

describe('Idempotency-Key on the message call', () => {
  const ctx = useModelAndServer({ model: { latencyMs: 150 } });

  const send = (id: string, message: string, key?: string) =>
    ctx.server.request('POST', `/api/v1/chatbot/session/${id}/message`, { message }, key ? { 'idempotency-key': key } : {});

  it("tells where a reply's time went in Server-Timing; a replay made no model call and has none", async () => {
    const id = await ctx.server.createSession('user_timing');
    const first = await send(id, 'how long did that take?', 'key-timing');
    const header = first.headers.get('server-timing') ?? '';
    const timing = Object.fromEntries(header.split(', ').map((entry) => [entry.split(';')[0], Number(entry.split('dur=')[1])]));
    expect(Object.keys(timing)).toEqual(['prepare', 'model', 'store', 'total']);
    expect(timing['model']).toBeGreaterThanOrEqual(145); // the fake model answers after 150 ms
    expect(timing['model']).toBeLessThan(5_000);
    expect(timing['prepare']).toBeGreaterThanOrEqual(0);
    expect(timing['store']).toBeGreaterThan(0);
    expect(timing['total']).toBeGreaterThanOrEqual(timing['prepare']! + timing['model']! + timing['store']!);
    const retry = await send(id, 'how long did that take?', 'key-timing');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('server-timing')).toBeNull();
  });

  it('answers a retry with the same reply and no second model call', async () => {
    const id = await ctx.server.createSession('user_idem');
    const first = await send(id, 'charge my card', 'key-0001');
    const calls = ctx.model.requests.length;
    const retry = await send(id, 'charge my card', 'key-0001');
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(ctx.model.requests.length).toBe(calls);
    const next = await send(id, 'and now something new', 'key-0002');
    expect(next.body.message_count).toBe(2);
    const history = (await ctx.server.get(`/api/v1/chatbot/session/${id}`)).body.conversation_history;
    expect(history.map((m: any) => m.content)).toEqual([
      'charge my card',
      'Reply to: charge my card',
      'and now something new',
      'Reply to: and now something new',
    ]);
  });

  it('gives a retry that arrives while the first is still running the same answer', async () => {
    const id = await ctx.server.createSession('user_idem');
    const calls = ctx.model.requests.length;
    const [a, b, c] = await Promise.all([send(id, 'hurry', 'key-race'), send(id, 'hurry', 'key-race'), send(id, 'hurry', 'key-race')]);
    expect(a.body.response).toBe('Reply to: hurry');
    expect(b.body).toEqual(a.body);
    expect(c.body).toEqual(a.body);
    expect(ctx.model.requests.length).toBe(calls + 1);
    expect((await ctx.server.get(`/api/v1/chatbot/session/${id}`)).body.message_count).toBe(1);
  });

  it('replays a streamed retry as one delta and the same done', async () => {
    const id = await ctx.server.createSession('user_idem');
    const stream = (key: string) =>
      fetch(`${ctx.server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ message: 'stream once' }),
      }).then(readEvents);
    const first = await stream('key-stream');
    const calls = ctx.model.requests.length;
    const retry = await stream('key-stream');
    expect(ctx.model.requests.length).toBe(calls);
    expect(retry.map((e) => e.event)).toEqual(['delta', 'done']);
    expect(retry[0]!.data.text).toBe('Reply to: stream once');
    expect(retry[1]!.data).toEqual(first.at(-1)!.data);
  });

  it('refuses a new keyed stream to an ended session before streaming, but replays one answered before it ended', async () => {
    const id = await ctx.server.createSession('user_idem_ended');
    const stream = (message: string, key: string) =>
      fetch(`${ctx.server.baseUrl}/api/v1/chatbot/session/${id}/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'idempotency-key': key },
        body: JSON.stringify({ message }),
      });
    const answered = await readEvents(await stream('before the end', 'key-before-end'));
    expect((await ctx.server.del(`/api/v1/chatbot/session/${id}`)).status).toBe(200);
    const calls = ctx.model.requests.length;

    const fresh = await stream('after the end', 'key-after-end');
    expect(fresh.status).toBe(409);
    expect(fresh.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await fresh.json()).toMatchObject({ success: false, error: { code: 'session_ended' } });
    const reused = await stream('other text', 'key-before-end');
    expect(reused.status).toBe(422);
    expect(await reused.json()).toMatchObject({ error: { code: 'idempotency_key_reused' } });

    const retry = await stream('before the end', 'key-before-end');
    expect(retry.status).toBe(200);
    const replayed = await readEvents(retry);
    expect(replayed.map((e) => e.event)).toEqual(['delta', 'done']);
    expect(replayed[1]!.data).toEqual(answered.at(-1)!.data);
    expect(ctx.model.requests.length).toBe(calls);
    expect((await ctx.server.get(`/api/v1/chatbot/session/${id}`)).body).toMatchObject({ status: 'ended', message_count: 1 });
  });

  it('refuses a key reused for a different message, and malformed keys', async () => {
    const id = await ctx.server.createSession('user_idem');
    await send(id, 'original', 'key-reuse');
    const reused = await send(id, 'something else', 'key-reuse');
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    for (const bad of ['has space', 'x'.repeat(256)]) {
      const res = await send(id, 'hi', bad);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('invalid_idempotency_key');
    }
    expect((await ctx.server.get(`/api/v1/chatbot/session/${id}`)).body.message_count).toBe(1);
  });

  it('remembers keys across a restart', async () => {
    const id = await ctx.server.createSession('user_idem_restart');
    const first = await send(id, 'remember me', 'key-restart');
    await ctx.server.close();
    ctx.server = await ChatifyServer.start(ChatifyServer.modelEnv(ctx.model.url), { databasePath: ctx.server.databasePath });
    const calls = ctx.model.requests.length;
    const retry = await send(id, 'remember me', 'key-restart');
    expect(retry.body).toEqual(first.body);
    expect(ctx.model.requests.length).toBe(calls);
  });
});

describe('token usage', () => {
  const ctx = useModelAndServer();

  it("is kept per reply, summed per session and per user, as the model reported it", async () => {
    // The fake model reports ceil(length / 4) tokens per message.
    const id = await ctx.server.createSession('user_tokens');
    await ctx.server.send(id, 'Hello there'); // prompt: system + "Hello there"
    await ctx.server.send(id, 'More please');
    // The title made after the first exchange is housekeeping: counted apart.
    await ctx.server.chatify.housekeeping.idle();
    const read = (await ctx.server.get(`/api/v1/chatbot/session/${id}`)).body;
    const replies = read.conversation_history.filter((m: any) => m.role === 'assistant');
    expect(replies.every((m: any) => m.usage.prompt_tokens > 0 && m.usage.completion_tokens > 0)).toBe(true);
    expect(read.conversation_history.filter((m: any) => m.role === 'user').every((m: any) => m.usage === null)).toBe(true);
    const prompt = replies.reduce((sum: number, m: any) => sum + m.usage.prompt_tokens, 0);
    const completion = replies.reduce((sum: number, m: any) => sum + m.usage.completion_tokens, 0);
    expect(ctx.model.titleRequests.length).toBeGreaterThan(0);
    const memory = read.usage.memory_tokens;
    expect(memory).toBeGreaterThan(0);
    expect(read.usage).toEqual({ prompt_tokens: prompt, completion_tokens: completion, memory_tokens: memory, total_tokens: prompt + completion + memory });
    expect(replies[0].usage.completion_tokens).toBe(Math.ceil('Reply to: Hello there'.length / 4));

    const other = await ctx.server.createSession('user_tokens');
    await ctx.server.send(other, 'Hi');
    await ctx.server.chatify.housekeeping.idle();
    const otherUsage = (await ctx.server.get(`/api/v1/chatbot/session/${other}`)).body.usage;
    const total = await ctx.server.get('/api/v1/chatbot/usage?user_id=user_tokens');
    expect(total.status).toBe(200);
    expect(total.body).toEqual({
      success: true,
      user_id: 'user_tokens',
      sessions: 2,
      prompt_tokens: prompt + otherUsage.prompt_tokens,
      completion_tokens: completion + otherUsage.completion_tokens,
      memory_tokens: memory + otherUsage.memory_tokens,
      total_tokens: prompt + completion + memory + otherUsage.total_tokens,
    });
    const listed = (await ctx.server.get('/api/v1/chatbot/sessions?user_id=user_tokens')).body.sessions;
    expect(listed.find((s: any) => s.session_id === id).usage).toEqual(read.usage);
  });
});
