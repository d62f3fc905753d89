import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { NO_RATE_LIMITS, tempDir } from './support/chatify-server.js';
import { ServerProcess } from './support/server-process.js';

const SECRET_TEXT = 'my-bank-pin-is-4321';
const API_KEY = 'sk-very-secret-key-0000';

describe('logs', () => {
  let model: FakeOpenAi;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ reply: () => 'The reply mentions zebra-crossing-77.' });
  });
  afterAll(() => model.close());

  async function converse(extra: Record<string, string>): Promise<string> {
    const server = await ServerProcess.start({
      entry: 'source',
      captureLogs: true,
      env: {
        DATABASE_URL: `sqlite:${join(tempDir(), 'logs.db')}`,
        OPENAI_API_KEY: API_KEY,
        OPENAI_BASE_URL: model.url,
        LOG_LEVEL: 'debug',
        ...NO_RATE_LIMITS,
        ...extra,
      },
    });
    const post = (path: string, body: unknown) =>
      fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const { session_id } = (await (await post('/api/v1/chatbot/session', { user_id: 'user_logs' })).json()) as any;
    expect((await post(`/api/v1/chatbot/session/${session_id}/message`, { message: SECRET_TEXT })).status).toBe(200);
    await post(`/api/v1/chatbot/session/${session_id}/message`, { message: 'x'.repeat(5000) }); // refused: too long
    await server.stop();
    return server.logs;
  }

  it('carry no message text, replies, prompts or keys by default', async () => {
    const logs = await converse({});
    expect(logs).toContain('"url":"/api/v1/chatbot/session/'); // requests are logged...
    expect(logs).not.toContain(SECRET_TEXT); // ...but not what was said
    expect(logs).not.toContain('zebra-crossing-77');
    expect(logs).not.toContain('You are a friendly');
    expect(logs).not.toContain(API_KEY);
  });

  it('carry what was said with LOG_CONTENT=true', async () => {
    const logs = await converse({ LOG_CONTENT: 'true' });
    expect(logs).toContain(SECRET_TEXT);
    expect(logs).toContain('zebra-crossing-77');
    expect(logs).not.toContain(API_KEY);
  });
});
