import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { FakeOpenAi, type RecordedRequest } from './support/fake-openai.js';
import { forEachStore } from './support/stores.js';

/** The system messages a reply request carried after the system prompt. */
const systemNotes = (request: RecordedRequest) => request.messages.slice(1).filter((m) => m.role === 'system').map((m) => m.content);
const said = (request: RecordedRequest) => request.messages.filter((m) => m.role !== 'system').map((m) => m.content);

forEachStore((kind) =>
  describe('a personality that remembers', () => {
    let model: FakeOpenAi;
    let server: ChatifyServer;
    beforeAll(async () => {
      model = await FakeOpenAi.start();
      server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { CONTEXT_MAX_MESSAGES: '20', MEMORY_EVERY_EXCHANGES: '5' }));
      expect(server.chatify.store.kind).toBe(kind);
    });
    afterAll(async () => {
      await server.close();
      await model.close();
    });
    const idle = () => server.chatify.housekeeping.idle();
    const memoriesOf = async (userId: string, personalityId?: string) => {
      const got = await server.get(`/api/v1/memories?user_id=${userId}${personalityId ? `&personality_id=${personalityId}` : ''}`);
      expect(got.status).toBe(200);
      return got.body.memories as { id: string; text: string; personality_id: string | null; source_session_id: string | null }[];
    };

    it('keeps a fact from message 1 of a 40-message session in what the model receives at message 40, through the summary', async () => {
      const id = await server.createSession('u_long');
      expect((await server.send(id, 'My name is Ada and I keep bees in Ghent.')).status).toBe(200);
      await idle();
      for (let i = 2; i <= 20; i++) {
        expect((await server.send(id, `Message number ${i} about nothing much.`)).status).toBe(200);
        await idle();
      }
      const last = model.requests.at(-1)!;
      // The window holds at most 20 messages (starting on a question), without the first; the summary carries it.
      expect(said(last).length).toBeGreaterThanOrEqual(19);
      expect(said(last).length).toBeLessThanOrEqual(20);
      expect(said(last)).not.toContain('My name is Ada and I keep bees in Ghent.');
      const notes = systemNotes(last);
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatch(/^Summary of the conversation so far: /);
      expect(notes[0]).toContain('My name is Ada and I keep bees in Ghent.');
      expect(model.summaries.requests.length).toBeGreaterThan(0);
      // The summary comes back with the session.
      const session = await server.get(`/api/v1/chatbot/session/${id}`);
      expect(session.body.summary).toContain('Ada');
      // The summary prompt stays within CONTEXT_MAX_TOKENS like everything else (here: far below it).
      expect(JSON.stringify(last.messages).length).toBeLessThan(6000 * 4);
    });

    it('does without a summary on a branch that has none yet, and uses the path’s own after a select back', async () => {
      const id = await server.createSession('u_branch_summary');
      for (let i = 1; i <= 12; i++) {
        await server.send(id, i === 1 ? 'I live in a lighthouse.' : `Filler ${i}.`);
        await idle();
      }
      expect(systemNotes(model.requests.at(-1)!).join()).toContain('lighthouse');
      // Editing the first message: a path of one exchange, nothing left the window, no summary.
      const edited = await server.post(`/api/v1/chatbot/session/${id}/messages/1/edit`, { message: 'I live in a windmill.' });
      expect(edited.status).toBe(200);
      expect(systemNotes(model.requests.at(-1)!)).toEqual([]);
      expect((await server.get(`/api/v1/chatbot/session/${id}`)).body.summary).toBeNull();
      await idle();
      // Back on the long path, its summary counts again.
      expect((await server.post(`/api/v1/chatbot/session/${id}/messages/3/select`)).status).toBe(200);
      await server.send(id, 'Where do I live?');
      expect(systemNotes(model.requests.at(-1)!).join()).toContain('lighthouse');
    });

    it('remembers a fact from session A in the first message of session B, for that user and personality only', async () => {
      model.memories.faults.push({ text: JSON.stringify({ facts: ['The user is called Grace and sails a small boat.'] }) });
      const a = await server.createSession('u_grace');
      await server.send(a, 'Hi, I am Grace and I sail a small boat.');
      expect((await server.del(`/api/v1/chatbot/session/${a}`)).status).toBe(200);
      await idle();
      const kept = await memoriesOf('u_grace', 'friendly-assistant');
      expect(kept).toMatchObject([{ text: 'The user is called Grace and sails a small boat.', personality_id: 'friendly-assistant', source_session_id: a }]);
      // The memory request used structured output, and its tokens count in the user's usage, apart.
      expect(model.memories.requests.at(-1)!['response_format']).toMatchObject({ type: 'json_schema' });
      const usage = (await server.get('/api/v1/chatbot/usage?user_id=u_grace')).body;
      expect(usage.memory_tokens).toBeGreaterThan(0);
      expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens + usage.memory_tokens);

      const b = await server.createSession('u_grace');
      await server.send(b, 'Hello again!');
      expect(systemNotes(model.requests.at(-1)!)).toEqual(['What you remember about the user:\n- The user is called Grace and sails a small boat.']);
      // Another user, and another personality that keeps nothing, see none of it.
      const other = await server.createSession('u_someone_else');
      await server.send(other, 'Hello!');
      expect(systemNotes(model.requests.at(-1)!)).toEqual([]);
      const forgetful = await server.post('/api/v1/personalities', { name: `Goldfish ${kind}`, personalityPrompt: 'You forget everything at once.', memory: false });
      expect([forgetful.status, forgetful.body.memory]).toEqual([201, false]);
      await server.post('/api/v1/memories', { user_id: 'u_grace', text: 'Likes tea.' });
      const c = await server.createSession('u_grace', forgetful.body.id);
      await server.send(c, 'Hello, fish!');
      expect(systemNotes(model.requests.at(-1)!)).toEqual([]);
      await server.del(`/api/v1/chatbot/session/${c}`);
      await idle();
      expect(model.memories.requests.filter((r) => JSON.stringify(r).includes('Hello, fish!'))).toEqual([]);

      // Erased through the API: never in a prompt again.
      expect((await server.del(`/api/v1/memories/${kept[0]!.id}`)).body).toEqual({ success: true, deleted: 1 });
      await server.send(b, 'Do you remember me?');
      expect(systemNotes(model.requests.at(-1)!)).toEqual(['What you remember about the user:\n- Likes tea.']);
      expect((await server.del('/api/v1/memories?user_id=u_grace')).body).toEqual({ success: true, deleted: 1 });
      await server.send(b, 'And now?');
      expect(systemNotes(model.requests.at(-1)!)).toEqual([]);
    });

    it('learns every MEMORY_EVERY_EXCHANGES exchanges, skips near-duplicates, and lets the user add, change and list', async () => {
      const id = await server.createSession('u_every');
      model.memories.always = { text: JSON.stringify({ facts: ['The user owns a red bicycle.'] }) };
      try {
        for (let i = 1; i <= 10; i++) await server.send(id, `Exchange ${i}`);
        await idle();
      } finally {
        model.memories.always = undefined;
      }
      expect(model.memories.requests.filter((r) => JSON.stringify(r).includes('Exchange 1')).length).toBeGreaterThanOrEqual(2);
      expect((await memoriesOf('u_every')).map((m) => m.text)).toEqual(['The user owns a red bicycle.']);
      const added = await server.post('/api/v1/memories', { user_id: 'u_every', personality_id: null, text: '  Speaks Dutch.  ' });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ user_id: 'u_every', personality_id: null, text: 'Speaks Dutch.', source_session_id: null });
      const changed = await server.put(`/api/v1/memories/${added.body.id}`, { text: 'Speaks Dutch and French.' });
      expect(changed.body.text).toBe('Speaks Dutch and French.');
      expect((await memoriesOf('u_every', 'friendly-assistant')).map((m) => m.text)).toEqual(['Speaks Dutch and French.', 'The user owns a red bicycle.']);
      for (const [res, status, code] of [
        [await server.post('/api/v1/memories', { user_id: 'u_every', text: '\u200b' }), 422, 'invalid_text'],
        [await server.post('/api/v1/memories', { user_id: 'u_every', personality_id: 'nobody', text: 'x' }), 404, 'personality_not_found'],
        [await server.put('/api/v1/memories/not-a-uuid', { text: 'x' }), 404, 'memory_not_found'],
        [await server.del('/api/v1/memories/3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c'), 404, 'memory_not_found'],
      ] as const) {
        expect([res.status, res.body.error?.code]).toEqual([status, code]);
      }
    });

    it('never lets a failing, hanging or garbled memory model fail, delay or change a reply, and stores nothing malformed', async () => {
      for (const fault of [{ status: 500 }, { text: 'Sure! Here are the facts: the user likes cats.' }, { text: JSON.stringify({ facts: 'cats' }) }, { hang: true }] as const) {
        const user = `u_fault_${Object.keys(fault)[0]}_${kind}`;
        model.memories.always = fault;
        model.summaries.always = fault;
        const id = await server.createSession(user);
        const started = performance.now();
        for (let i = 1; i <= 5; i++) {
          const res = await server.send(id, `I like cats, message ${i}.`);
          expect([res.status, res.body.response]).toEqual([200, `Reply to: I like cats, message ${i}.`]);
        }
        // Five replies from a 0 ms model: a hanging memory model would have shown here.
        expect(performance.now() - started).toBeLessThan(5000);
        model.memories.always = undefined;
        model.summaries.always = undefined;
        if (!('hang' in fault)) await idle();
        expect(await memoriesOf(user)).toEqual([]);
      }
    });
  }),
);

describe('memory switched off', () => {
  it('MEMORY_ENABLED=false: nothing learnt or recalled; CONTEXT_SUMMARY=false: no summary', async () => {
    const model = await FakeOpenAi.start();
    const server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, { MEMORY_ENABLED: 'false', CONTEXT_SUMMARY: 'false', CONTEXT_MAX_MESSAGES: '4', MEMORY_EVERY_EXCHANGES: '1' }),
    );
    try {
      await server.post('/api/v1/memories', { user_id: 'u_off', text: 'Likes tea.' });
      const id = await server.createSession('u_off');
      for (let i = 1; i <= 6; i++) await server.send(id, `Message ${i}`);
      await server.chatify.housekeeping.idle();
      expect(systemNotes(model.requests.at(-1)!)).toEqual([]);
      expect(model.memories.requests).toEqual([]);
      expect(model.summaries.requests).toEqual([]);
      expect((await server.get(`/api/v1/chatbot/session/${id}`)).body.summary).toBeNull();
    } finally {
      await server.close();
      await model.close();
    }
  });
});

describe('the offline responder remembers too', () => {
  it('keeps what the user says of themselves and summarises by rule, without any model', async () => {
    const server = await ChatifyServer.start({ CONTEXT_MAX_MESSAGES: '4' });
    try {
      expect(server.chatify.llm.provider).toBe('offline');
      const a = await server.createSession('u_offline');
      await server.send(a, 'Hello! My name is Ada. The weather is grey.');
      for (let i = 2; i <= 4; i++) await server.send(a, `Small talk ${i}.`);
      await server.chatify.housekeeping.idle();
      expect((await server.get(`/api/v1/chatbot/session/${a}`)).body.summary).toContain('My name is Ada');
      await server.del(`/api/v1/chatbot/session/${a}`);
      await server.chatify.housekeeping.idle();
      const kept = (await server.get('/api/v1/memories?user_id=u_offline')).body.memories;
      expect(kept.map((m: { text: string }) => m.text)).toEqual(['The user said: "My name is Ada"']);
    } finally {
      await server.close();
    }
  });
});
