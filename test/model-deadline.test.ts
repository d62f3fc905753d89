import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';
import { readEvents } from './support/sse.js';

/**
 * One deadline per message across every retry (LLM_DEADLINE_MS): a model that hangs is answered
 * with 504 provider_timeout at about the deadline, not after LLM_TIMEOUT_MS × (retries + 1) plus
 * backoff (here 4 × 1000 ms + about 3.5 s).
 */
const TIMEOUT_MS = 1000;
const DEADLINE_MS = 1500;
/** Room for the server, the thread and a loaded machine; far below the 7.5 s without a deadline. */
const SLACK_MS = 1000;

for (const thread of ['true', 'false']) {
  describe(`a model that hangs, LLM_DEADLINE_MS=${DEADLINE_MS} (LLM_THREAD=${thread})`, () => {
    let model: FakeOpenAi;
    let server: ChatifyServer;
    beforeAll(async () => {
      model = await FakeOpenAi.start({ reply: () => 'one two three four five six', tokenDelayMs: 250 });
      server = await ChatifyServer.start(
        ChatifyServer.modelEnv(model.url, {
          LLM_THREAD: thread,
          LLM_TIMEOUT_MS: String(TIMEOUT_MS),
          LLM_MAX_RETRIES: '3',
          LLM_DEADLINE_MS: String(DEADLINE_MS),
          // Every attempt hangs: the circuit must not open in between.
          LLM_BREAKER_FAILURES: '100',
        }),
      );
    });
    afterAll(async () => {
      await server?.close();
      await model?.close();
    });
    beforeEach(() => {
      model.randomFault = undefined;
    });

    it('answers 504 provider_timeout at the deadline, storing nothing', async () => {
      const id = await server.createSession(`user_deadline_${thread}`);
      await server.chatify.housekeeping.idle();
      const before = dumpDatabase(server.databasePath);
      model.randomFault = () => ({ hang: true });
      const started = performance.now();
      const res = await server.send(id, 'are you there?');
      const elapsed = performance.now() - started;
      model.randomFault = undefined;
      expect(res.status, JSON.stringify(res.body)).toBe(504);
      expect(res.body.error.code).toBe('provider_timeout');
      expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(elapsed).toBeLessThan(DEADLINE_MS + SLACK_MS);
      expect(dumpDatabase(server.databasePath)).toBe(before);
      expect((await server.send(id, 'back?')).body.message_count).toBe(1);
    });

    it('counts the deadline from when a message arrives: one queued behind a hanging send gets no deadline of its own', async () => {
      const id = await server.createSession(`user_deadline_${thread}`);
      model.randomFault = () => ({ hang: true });
      const started = performance.now();
      const answered = (res: Awaited<ReturnType<ChatifyServer['send']>>) => ({ status: res.status, body: res.body, at: performance.now() - started });
      const [first, queued] = await Promise.all([server.send(id, 'first').then(answered), server.send(id, 'queued').then(answered)]);
      model.randomFault = undefined;
      expect([first.status, queued.status], JSON.stringify(queued)).toEqual([504, 504]);
      // Without it, the queued send would wait for the first (one deadline), then for its own (another).
      expect(queued.at).toBeLessThan(DEADLINE_MS + SLACK_MS);
    });

    it('ends a stream with an error event provider_timeout at the deadline', async () => {
      const id = await server.createSession(`user_deadline_${thread}`);
      await server.chatify.housekeeping.idle();
      const before = dumpDatabase(server.databasePath);
      model.randomFault = () => ({ hang: true });
      const started = performance.now();
      const res = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'stream to me' }),
      });
      const events = await readEvents(res);
      const elapsed = performance.now() - started;
      model.randomFault = undefined;
      expect(events.map((e) => e.event)).toEqual(['error']);
      expect(events[0]!.data.code).toBe('provider_timeout');
      expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
      expect(elapsed).toBeLessThan(DEADLINE_MS + SLACK_MS);
      expect(dumpDatabase(server.databasePath)).toBe(before);
    });

    it('lets a streamed reply that has begun run past the deadline while pieces keep coming', async () => {
      const id = await server.createSession(`user_deadline_${thread}`);
      // Six pieces 250 ms apart, after a first wait of 700 ms: the reply ends well after the deadline.
      model.latencyMs = 700;
      try {
        const started = performance.now();
        const res = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'slowly please' }),
        });
        const events = await readEvents(res);
        expect(performance.now() - started).toBeGreaterThan(DEADLINE_MS);
        expect(events.at(-1)).toMatchObject({ event: 'done', data: { response: 'one two three four five six' } });
      } finally {
        model.latencyMs = 0;
      }
    });
  });
}
