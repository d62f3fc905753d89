import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, NO_RATE_LIMITS, tempDir } from './support/chatify-server.js';
import { ServerProcess } from './support/server-process.js';
import { readEvents } from './support/sse.js';

describe('graceful shutdown on SIGTERM', () => {
  let model: FakeOpenAi;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ latencyMs: 1200, tokenDelayMs: 30, reply: () => 'A slow but complete answer, word by word.' });
  });
  afterAll(() => model.close());

  it('turns /ready off first, finishes the replies under way (streams included), stores them, then exits', async () => {
    const databasePath = join(tempDir(), 'shutdown.db');
    const server = await ServerProcess.start({
      entry: 'source',
      env: {
        DATABASE_URL: `sqlite:${databasePath}`,
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: model.url,
        LLM_MAX_RETRIES: '0',
        LOG_LEVEL: 'warn',
        SHUTDOWN_DELAY_MS: '500',
        SHUTDOWN_TIMEOUT_MS: '10000',
        ...NO_RATE_LIMITS,
      },
    });
    const post = (path: string, body: unknown) =>
      fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const plainId = ((await (await post('/api/v1/chatbot/session', { user_id: 'u_plain' })).json()) as any).session_id;
    const streamId = ((await (await post('/api/v1/chatbot/session', { user_id: 'u_stream' })).json()) as any).session_id;

    const plain = post(`/api/v1/chatbot/session/${plainId}/message`, { message: 'finish me' }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as any,
    }));
    const stream = post(`/api/v1/chatbot/session/${streamId}/message?stream=true`, { message: 'stream me' }).then(readEvents);
    await new Promise((resolve) => setTimeout(resolve, 300)); // both are waiting for the model

    const stopped = server.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);

    const [plainReply, events] = await Promise.all([plain, stream]);
    expect(plainReply.status).toBe(200);
    expect(plainReply.body.response).toBe('A slow but complete answer, word by word.');
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { message_count: 1 } });
    await stopped;

    // Both replies are on disk: a new server on the same file shows them.
    const reopened = await ChatifyServer.start({}, { databasePath });
    try {
      for (const id of [plainId, streamId]) {
        const history = (await reopened.get(`/api/v1/chatbot/session/${id}`)).body.conversation_history;
        expect(history.map((m: any) => m.role)).toEqual(['user', 'assistant']);
        expect(history[1].content).toBe('A slow but complete answer, word by word.');
      }
    } finally {
      await reopened.close();
    }
  });
});
