import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';

describe('durability across restarts and cache eviction', () => {
  let model: FakeOpenAi;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
  });
  afterAll(() => model.close());

  it('continues a conversation with its full context after the server restarts on the same file', async () => {
    const env = ChatifyServer.modelEnv(model.url);
    const first = await ChatifyServer.start(env);
    const id = await first.createSession('user_restart');
    await first.send(id, 'My name is Ada.');
    await first.send(id, 'I like chess.');
    const personality = (await first.get('/api/v1/personalities/friendly-assistant')).body;
    await first.close();

    const second = await ChatifyServer.start(env, { databasePath: first.databasePath });
    try {
      model.requests.length = 0;
      const reply = await second.send(id, 'What do you know about me?');
      expect(reply.status).toBe(200);
      expect(reply.body.message_count).toBe(3);
      expect(model.requests[0]!.messages).toEqual([
        { role: 'system', content: personality.personalityPrompt },
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Reply to: My name is Ada.' },
        { role: 'user', content: 'I like chess.' },
        { role: 'assistant', content: 'Reply to: I like chess.' },
        { role: 'user', content: 'What do you know about me?' },
      ]);
      const history = (await second.get(`/api/v1/chatbot/session/${id}`)).body.conversation_history;
      expect(history.map((m: any) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      const sessions = (await second.get('/api/v1/chatbot/sessions?user_id=user_restart')).body.sessions;
      expect(sessions).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('reloads sessions evicted from a full cache without losing context', async () => {
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { SESSION_CACHE_MAX: '1' }));
    try {
      const a = await server.createSession('user_a');
      const b = await server.createSession('user_b');
      for (let round = 1; round <= 3; round++) {
        expect((await server.send(a, `a${round}`)).body.message_count).toBe(round);
        expect((await server.send(b, `b${round}`)).body.message_count).toBe(round);
      }
      expect(server.chatify.chat.activeSessionCount).toBe(1);
      const lastForA = model.requests.filter((r) => r.messages.at(-1)!.content === 'a3')[0]!;
      expect(lastForA.messages.slice(1).map((m) => m.content)).toEqual(['a1', 'Reply to: a1', 'a2', 'Reply to: a2', 'a3']);
    } finally {
      await server.close();
    }
  });

  it('lets idle sessions leave memory after SESSION_IDLE_TIMEOUT and picks them up again', async () => {
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { SESSION_IDLE_TIMEOUT: '1s' }));
    try {
      const id = await server.createSession('user_idle');
      await server.send(id, 'first');
      expect(server.chatify.chat.activeSessionCount).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect(server.chatify.chat.activeSessionCount).toBe(0);
      model.requests.length = 0;
      expect((await server.send(id, 'second')).body.message_count).toBe(2);
      expect(model.requests[0]!.messages.slice(1).map((m) => m.content)).toEqual(['first', 'Reply to: first', 'second']);
    } finally {
      await server.close();
    }
  });
});
