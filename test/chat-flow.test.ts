import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';
import { forEachStore } from './support/stores.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

forEachStore(() => describe("the seed's chat flow", () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let friendlyPrompt: string;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    friendlyPrompt = (await server.get('/api/v1/personalities/friendly-assistant')).body.personalityPrompt;
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });
  beforeEach(() => {
    model.requests.length = 0;
    model.reply = (request) => `Reply to: ${request.messages.at(-1)!.content}`;
  });

  it('creates a session, sends two messages with full context, reads and ends it', async () => {
    const created = await server.post('/api/v1/chatbot/session', { user_id: 'user_12345', template_id: 'friendly-assistant' });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      success: true,
      message: 'Session created successfully',
      error: null,
      session_id: expect.stringMatching(UUID_V4),
      response: null,
      message_count: 0,
    });
    const id: string = created.body.session_id;

    model.reply = () => "Hey! What's up?";
    const first = await server.send(id, 'Hi');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      success: true,
      message: null,
      error: null,
      session_id: id,
      response: "Hey! What's up?",
      message_count: 1,
    });
    expect(model.requests).toHaveLength(1);
    expect(model.requests[0]).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: friendlyPrompt },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0.9,
      max_tokens: 50,
      presence_penalty: 0.6,
      frequency_penalty: 0.6,
    });

    model.reply = () => "I'm Alex! Nice to meet you 😊";
    const second = await server.send(id, "What's your name?");
    expect(second.body).toMatchObject({ success: true, response: "I'm Alex! Nice to meet you 😊", message_count: 2 });
    expect(model.requests[1]!.messages).toEqual([
      { role: 'system', content: friendlyPrompt },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: "Hey! What's up?" },
      { role: 'user', content: "What's your name?" },
    ]);

    const read = await server.get(`/api/v1/chatbot/session/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      success: true,
      session_id: id,
      user_id: 'user_12345',
      template_id: 'friendly-assistant',
      status: 'active',
      ended_at: null,
      message_count: 2,
      has_more: false,
    });
    expect(read.body.conversation_history.map((m: any) => [m.role, m.content])).toEqual([
      ['user', 'Hi'],
      ['assistant', "Hey! What's up?"],
      ['user', "What's your name?"],
      ['assistant', "I'm Alex! Nice to meet you 😊"],
    ]);
    for (const m of read.body.conversation_history) expect(Date.parse(m.timestamp)).not.toBeNaN();
    expect(Date.parse(read.body.last_activity)).toBeGreaterThanOrEqual(Date.parse(read.body.created_at));

    const ended = await server.del(`/api/v1/chatbot/session/${id}`);
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ success: true, message: 'Session ended successfully', session_id: id });
    expect(ended.body.stats).toEqual({ duration_seconds: expect.any(Number), message_count: 2 });
    expect(ended.body.stats.duration_seconds).toBeGreaterThanOrEqual(0);

    const after = await server.get(`/api/v1/chatbot/session/${id}`);
    expect(after.body).toMatchObject({ status: 'ended', message_count: 2 });
    expect(Date.parse(after.body.ended_at)).not.toBeNaN();
    expect(server.chatify.chat.activeSessionCount).toBe(0);

    const late = await server.send(id, 'Still there?');
    expect(late.status).toBe(409);
    expect(late.body).toEqual({ success: false, error: { code: 'session_ended', message: expect.any(String) }, detail: late.body.error.message });
    expect((await server.del(`/api/v1/chatbot/session/${id}`)).status).toBe(409);
    expect(model.requests).toHaveLength(2);
  });

  it('uses the default personality when no template is given', async () => {
    const created = await server.post('/api/v1/chatbot/session', { user_id: 'user_default' });
    expect(created.status).toBe(200);
    const read = await server.get(`/api/v1/chatbot/session/${created.body.session_id}`);
    expect(read.body.template_id).toBe('friendly-assistant');
  });

  it("sends a personality's own model settings when it overrides the defaults", async () => {
    const mentor = (await server.get('/api/v1/personalities/code-mentor')).body;
    const id = await server.createSession('user_code', 'code-mentor');
    await server.send(id, 'Why is my loop slow?');
    expect(model.requests[0]).toMatchObject({
      model: mentor.model,
      temperature: mentor.temperature,
      max_tokens: mentor.maxTokens,
      presence_penalty: mentor.presencePenalty,
      frequency_penalty: mentor.frequencyPenalty,
    });
    expect(mentor.temperature).not.toBe(0.9);
    expect(mentor.maxTokens).not.toBe(50);
  });

  it('pages through a long conversation with limit and before', async () => {
    const id = await server.createSession('user_pages');
    for (let i = 1; i <= 5; i++) await server.send(id, `message ${i}`);
    const newest = await server.get(`/api/v1/chatbot/session/${id}?limit=4`);
    expect(newest.body.conversation_history.map((m: any) => m.seq)).toEqual([7, 8, 9, 10]);
    expect(newest.body).toMatchObject({ has_more: true, next_before: 7 });
    const older = await server.get(`/api/v1/chatbot/session/${id}?limit=4&before=7`);
    expect(older.body.conversation_history.map((m: any) => m.seq)).toEqual([3, 4, 5, 6]);
    const oldest = await server.get(`/api/v1/chatbot/session/${id}?limit=4&before=3`);
    expect(oldest.body.conversation_history.map((m: any) => m.content)).toEqual(['message 1', 'Reply to: message 1']);
    expect(oldest.body).toMatchObject({ has_more: false, next_before: null });
  });

  it("lists a user's sessions newest first, page by page", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await server.createSession('user_lister'));
    await server.createSession('someone_else');
    const first = await server.get('/api/v1/chatbot/sessions?user_id=user_lister&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.sessions.map((s: any) => s.session_id)).toEqual([ids[4], ids[3]]);
    expect(first.body.sessions[0]).toMatchObject({ user_id: 'user_lister', status: 'active', message_count: 0 });
    const second = await server.get(`/api/v1/chatbot/sessions?user_id=user_lister&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body.sessions.map((s: any) => s.session_id)).toEqual([ids[2], ids[1]]);
    const third = await server.get(`/api/v1/chatbot/sessions?user_id=user_lister&limit=2&cursor=${second.body.next_cursor}`);
    expect(third.body.sessions.map((s: any) => s.session_id)).toEqual([ids[0]]);
    expect(third.body.next_cursor).toBeNull();
  });

  it('refuses a session-list cursor that is not one this store hands out, with a 422', async () => {
    await server.createSession('user_cursors');
    // Each store's own shape passes the schema; the other store's shape is refused by the store.
    const foreign = server.chatify.store.kind === 'firebase' ? '12' : '-Nq8xYzAbCdEfGhIjKlM';
    const bad: [string, string][] = [
      ['abc', 'validation_error'],
      ['1 OR 1=1', 'validation_error'],
      ['-1', 'validation_error'],
      [foreign, 'invalid_cursor'],
      ...(server.chatify.store.kind === 'firebase' ? [] : [['9999999999999999999', 'invalid_cursor'] as [string, string]]),
    ];
    for (const [cursor, code] of bad) {
      const res = await server.get(`/api/v1/chatbot/sessions?user_id=user_cursors&cursor=${encodeURIComponent(cursor)}`);
      expect([res.status, res.body.error?.code], cursor).toEqual([422, code]);
    }
  });

  it('serves health, readiness, the OpenAPI document and its UI', async () => {
    expect((await server.get('/health')).body).toEqual({ status: 'ok' });
    expect((await server.get('/ready')).body).toEqual({
      status: 'ready',
      store: expect.stringMatching(/^(sqlite|postgres|firebase)$/),
      provider: 'openai',
      coordination: 'local',
    });
    const spec = await server.get('/openapi.json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/chatbot/session',
        '/api/v1/chatbot/session/{id}/message',
        '/api/v1/chatbot/session/{id}',
        '/api/v1/chatbot/sessions',
        '/api/v1/personalities',
        '/api/v1/settings/universal-rules',
        '/api/v1/connections',
        '/api/v1/connections/{id}/messages',
        '/api/v1/connections/{id}/read',
        '/api/v1/ws',
        '/api/v1/push/subscriptions',
      ]),
    );
    const docs = await fetch(`${server.baseUrl}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
}));
