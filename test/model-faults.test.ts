import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';

describe('when the model fails', () => {
  let model: FakeOpenAi;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
  });
  afterAll(() => model.close());

  it('tries LLM_FALLBACK_MODEL once the primary model has failed', async () => {
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { LLM_FALLBACK_MODEL: 'backup-model' }));
    try {
      const id = await server.createSession('user_fallback');
      model.faults.push({ status: 503 });
      const attempts = model.attempts;
      const reply = await server.send(id, 'anyone there?');
      expect(reply.status).toBe(200);
      expect(reply.body.response).toBe('Reply to: anyone there?');
      expect(model.attempts - attempts).toBe(2);
      expect(model.requests.at(-1)!.model).toBe('backup-model');
    } finally {
      await server.close();
    }
  });

  it('opens the circuit after repeated failures: 503 at once, no model call, then recovers', async () => {
    const server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, { LLM_BREAKER_FAILURES: '3', LLM_BREAKER_RESET_MS: '400' }),
    );
    try {
      const id = await server.createSession('user_breaker');
      model.faults.push({ status: 500 }, { status: 500 }, { status: 500 });
      for (let i = 0; i < 3; i++) expect((await server.send(id, `fail ${i}`)).status).toBe(502);

      await server.chatify.housekeeping.idle();

      const before = dumpDatabase(server.databasePath);
      const attempts = model.attempts;
      const started = performance.now();
      const paused = await server.send(id, 'paused?');
      expect(paused.status).toBe(503);
      expect(paused.body.error.code).toBe('provider_unavailable');
      expect(Number(paused.headers.get('retry-after'))).toBe(1); // the 400 ms left, rounded up
      expect(performance.now() - started).toBeLessThan(200);
      expect(model.attempts).toBe(attempts);
      expect(dumpDatabase(server.databasePath)).toBe(before);

      await new Promise((resolve) => setTimeout(resolve, 450));
      const back = await server.send(id, 'back?');
      expect(back.status).toBe(200);
      expect(back.body.message_count).toBe(1);
      expect((await server.send(id, 'and again')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
