import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseDuration } from '../src/config.js';
import { OfflineLlm } from '../src/llm/offline-llm.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';

describe('the offline responder', () => {
  let server: ChatifyServer;
  beforeAll(async () => {
    server = await ChatifyServer.start({});
  });
  afterAll(() => server.close());

  it('answers without an API key, and says so in /ready', async () => {
    expect((await server.get('/ready')).body).toMatchObject({ status: 'ready', provider: 'offline' });
    const id = await server.createSession('user_offline');
    const reply = await server.send(id, 'Hello there');
    expect(reply.status).toBe(200);
    expect(reply.body.response).toContain('Friendly Assistant');
    expect(reply.body.response).toContain('Hello there');
    expect(reply.body.message_count).toBe(1);
  });

  it('is deterministic and personality-aware', async () => {
    const a = await server.createSession('user_offline', 'calm-listener');
    const b = await server.createSession('user_offline', 'calm-listener');
    const c = await server.createSession('user_offline', 'code-mentor');
    const [ra, rb, rc] = await Promise.all([a, b, c].map((id) => server.send(id, 'I had a long day')));
    expect(ra!.body.response).toBe(rb!.body.response);
    expect(ra!.body.response).toContain('Calm Listener');
    expect(rc!.body.response).toContain('Code Mentor');
    expect(rc!.body.response).not.toBe(ra!.body.response);
  });

  it('keeps replies short, even for long messages', async () => {
    const llm = new OfflineLlm();
    const long = 'word '.repeat(500);
    const completion = await llm.complete({
      model: 'gpt-4o-mini', temperature: 0.9, maxTokens: 50, presencePenalty: 0.6, frequencyPenalty: 0.6,
      messages: [{ role: 'system', content: 'x' }, { role: 'user', content: long }],
      persona: { id: 'friendly-assistant', name: 'Friendly Assistant' },
    });
    expect(completion.text.length).toBeLessThan(200);
  });
});

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8000,
      databaseUrl: 'sqlite:./data/chatify.db',
      llm: { provider: 'offline' },
      context: { maxTokens: 6000, maxMessages: 20 },
      sessionCache: { maxSessions: 10_000, idleTimeoutMs: 30 * 60_000 },
      maxMessageLength: 4000,
      defaultTemplateId: 'friendly-assistant',
    });
    expect(config.corsOrigins).toContain('http://localhost:3000');
  });

  it('never uses the offline responder when a key is set', () => {
    expect(loadConfig({ OPENAI_API_KEY: 'sk-x' }).llm.provider).toBe('openai');
    expect(() => loadConfig({ OPENAI_API_KEY: 'sk-x', LLM_PROVIDER: 'offline' })).toThrow(/OPENAI_API_KEY/);
    expect(loadConfig({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' }).llm).toMatchObject({
      provider: 'openai',
      baseURL: 'http://127.0.0.1:11434/v1',
    });
  });

  it('refuses invalid values with a clear message', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ CONTEXT_MAX_MESSAGES: '0' })).toThrow(/CONTEXT_MAX_MESSAGES/);
    // Beyond a timer's range: it would fire at once and time every call out.
    expect(() => loadConfig({ LLM_DEADLINE_MS: '3000000000' })).toThrow(/LLM_DEADLINE_MS/);
    expect(() => loadConfig({ LLM_TIMEOUT_MS: '3000000000' })).toThrow(/LLM_TIMEOUT_MS/);
    expect(() => loadConfig({ SESSION_IDLE_TIMEOUT: 'soon' })).toThrow(/SESSION_IDLE_TIMEOUT/);
    expect(() => loadConfig({ SESSION_IDLE_TIMEOUT: '0' })).toThrow(/SESSION_IDLE_TIMEOUT/);
    expect(() => loadConfig({ LLM_PROVIDER: 'claude' })).toThrow(/LLM_PROVIDER/);
  });

  it('reads idle timeouts as seconds or with a unit', () => {
    expect(parseDuration('1800')).toBe(1_800_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('250ms')).toBe(250);
  });
});

describe('the OpenAI-compatible model', () => {
  let model: FakeOpenAi;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
  });
  afterAll(() => model.close());

  it('retries failed calls (honouring retry-after) before answering', async () => {
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { LLM_MAX_RETRIES: '2' }));
    try {
      const id = await server.createSession('user_retry');
      model.faults.push({ status: 500 }, { status: 429, retryAfterSeconds: 0 });
      const attempts = model.attempts;
      const reply = await server.send(id, 'third time lucky');
      expect(reply.status).toBe(200);
      expect(reply.body.response).toBe('Reply to: third time lucky');
      expect(model.attempts - attempts).toBe(3);
    } finally {
      await server.close();
    }
  });

  it('uses LLM_MODEL instead of the personality model when set', async () => {
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { LLM_MODEL: 'llama3.2' }));
    try {
      const id = await server.createSession('user_model');
      await server.send(id, 'hi');
      expect(model.requests.at(-1)!.model).toBe('llama3.2');
    } finally {
      await server.close();
    }
  });
});
