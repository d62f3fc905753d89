import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi, lastUserMessage } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';
import { forEachStore } from './support/stores.js';

forEachStore(() => describe('concurrent sends to one session', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    // Random latency per call, so replies would overtake each other if sends were not serialised.
    model = await FakeOpenAi.start({ latencyMs: (index) => [30, 5, 20, 0, 12][index % 5]! });
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { CONTEXT_MAX_MESSAGES: '100' }));
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('answers 20 simultaneous sends one at a time, each seeing the exchange before it', async () => {
    const id = await server.createSession('user_concurrent');
    const texts = Array.from({ length: 20 }, (_, i) => `message ${i + 1}`);
    const replies = await Promise.all(texts.map((text) => server.send(id, text)));

    for (const [i, res] of replies.entries()) {
      expect(res.status).toBe(200);
      expect(res.body.response).toBe(`Reply to: ${texts[i]}`);
    }
    expect(replies.map((r) => r.body.message_count).sort((a, b) => a - b)).toEqual(texts.map((_, i) => i + 1));

    // The model saw each exchange in the order the server took them, each with every earlier one.
    expect(model.requests).toHaveLength(20);
    const order = model.requests.map(lastUserMessage);
    expect(new Set(order).size).toBe(20);
    model.requests.forEach((request, k) => {
      const expected = order.slice(0, k).flatMap((text) => [text, `Reply to: ${text}`]);
      expect(request.messages.slice(1, -1).map((m) => m.content)).toEqual(expected);
    });
    // Each reply's message_count is its position in that order.
    for (const [i, res] of replies.entries()) expect(order.indexOf(texts[i]!) + 1).toBe(res.body.message_count);

    // Stored exactly once each, in the same order, questions and answers paired.
    const rows: { seq: number; content: string }[] = (await server.get(`/api/v1/chatbot/session/${id}?limit=100`)).body
      .conversation_history;
    expect(rows).toHaveLength(40);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(rows.map((r) => r.content)).toEqual(order.flatMap((text) => [text, `Reply to: ${text}`]));
    const read = await server.get(`/api/v1/chatbot/session/${id}`);
    expect(read.body.message_count).toBe(20);
  });

  it('answers the retry of a send another writer fenced out: its Idempotency-Key is free again', async () => {
    const id = await server.createSession('user_fenced');
    const send = () => server.request('POST', `/api/v1/chatbot/session/${id}/message`, { message: 'first try' }, { 'idempotency-key': 'fenced-1' });
    const held = model.holdNext();
    const fenced = send();
    await held.arrived;
    // While the model answers, another instance stores an exchange in the session (straight into the database).
    const at = new Date().toISOString();
    const elsewhere = await server.chatify.store.appendExchange(id, [
      { role: 'user', content: 'meanwhile, elsewhere', tokens: 3, createdAt: at },
      { role: 'assistant', content: 'noted', tokens: 1, createdAt: at },
    ], at);
    expect(elsewhere?.messageCount).toBe(1);
    held.release();
    const refused = await fenced;
    expect([refused.status, refused.body.error?.code]).toEqual([409, 'session_conflict']);

    const retry = await send();
    expect([retry.status, retry.body.response, retry.body.message_count]).toEqual([200, 'Reply to: first try', 2]);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect((await send()).headers.get('idempotent-replayed')).toBe('true');
    const history = (await server.get(`/api/v1/chatbot/session/${id}`)).body.conversation_history;
    expect(history.map((m: { content: string }) => m.content)).toEqual(['meanwhile, elsewhere', 'noted', 'first try', 'Reply to: first try']);
  });

  it('ends a session only after the sends queued before the end', async () => {
    const id = await server.createSession('user_end_race');
    const sends = [1, 2, 3].map((i) => server.send(id, `before end ${i}`));
    const end = server.del(`/api/v1/chatbot/session/${id}`);
    const results = await Promise.all([...sends, end]);
    const ended = results[3]!;
    expect(ended.status).toBe(200);
    const answered = results.slice(0, 3).filter((r) => r.status === 200).length;
    expect(results.slice(0, 3).every((r) => r.status === 200 || r.status === 409)).toBe(true);
    expect(ended.body.stats.message_count).toBe(answered);
    expect((await server.send(id, 'too late')).status).toBe(409);
  });
}));
