import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';
import { readEvents } from './support/sse.js';

/** While the circuit is open, a streamed send is refused before its stream starts, like a plain one. */
for (const thread of ['true', 'false']) {
  describe(`an open circuit and streamed sends (LLM_THREAD=${thread})`, () => {
    let model: FakeOpenAi;
    let server: ChatifyServer;
    beforeAll(async () => {
      model = await FakeOpenAi.start();
      server = await ChatifyServer.start(
        ChatifyServer.modelEnv(model.url, { LLM_THREAD: thread, LLM_BREAKER_FAILURES: '2', LLM_BREAKER_RESET_MS: '5000' }),
      );
    });
    afterAll(async () => {
      await server?.close();
      await model?.close();
    });

    const stream = (id: string, message: string, headers: Record<string, string> = {}) =>
      fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
        body: JSON.stringify({ message }),
      });

    it('answers 503 JSON with Retry-After, asks no model and stores nothing; a stored keyed answer still replays', async () => {
      const id = await server.createSession(`user_open_${thread}`);
      const answered = await server.request('POST', `/api/v1/chatbot/session/${id}/message`, { message: 'kept' }, { 'idempotency-key': 'k-1' });
      expect(answered.status).toBe(200);
      model.faults.push({ status: 500 }, { status: 500 });
      for (let i = 0; i < 2; i++) expect((await server.send(id, `fail ${i}`)).status).toBe(502);

      await server.chatify.housekeeping.idle();

      const before = dumpDatabase(server.databasePath);
      const attempts = model.attempts;
      const refused = await stream(id, 'paused?');
      expect(refused.status).toBe(503);
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(5);
      expect(await refused.json()).toMatchObject({ success: false, error: { code: 'provider_unavailable' } });
      expect(model.attempts).toBe(attempts);
      expect(dumpDatabase(server.databasePath)).toBe(before);

      // A retry of an exchange already stored needs no model: it is replayed, circuit open or not.
      const replay = await stream(id, 'kept', { 'idempotency-key': 'k-1' });
      expect(replay.status).toBe(200);
      const events = await readEvents(replay);
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { response: 'Reply to: kept', message_count: 1 } });
      expect(model.attempts).toBe(attempts);
    });
  });
}
