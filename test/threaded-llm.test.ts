import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmError, type CompletionRequest } from '../src/chat/llm.js';
import { ThreadedLlm } from '../src/llm/threaded-llm.js';
import { FakeOpenAi } from './support/fake-openai.js';

const request = (text: string, extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  model: 'gpt-4o-mini',
  temperature: 0.7,
  maxTokens: 100,
  presencePenalty: 0,
  frequencyPenalty: 0,
  persona: { id: 'p', name: 'P' },
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: text },
  ],
  ...extra,
});

describe('the model on its own thread (ThreadedLlm)', () => {
  let model: FakeOpenAi;
  let llm: ThreadedLlm;
  beforeAll(async () => {
    model = await FakeOpenAi.start({ tokenDelayMs: 2 });
    llm = new ThreadedLlm({ apiKey: 'sk-test', baseURL: model.url, timeoutMs: 2000, maxRetries: 0 });
  });
  afterAll(async () => {
    await llm.close();
    await model.close();
  });

  it('answers whole replies with usage, many at once', async () => {
    const replies = await Promise.all(['one', 'two', 'three'].map((text) => llm.complete(request(text))));
    expect(replies.map((r) => r.text)).toEqual(['Reply to: one', 'Reply to: two', 'Reply to: three']);
    expect(replies[0]!.usage).toEqual({ promptTokens: expect.any(Number), completionTokens: expect.any(Number) });
    expect(model.requests.at(-1)!.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
  });

  it('streams the pieces in order, and they add up to the reply', async () => {
    const pieces: string[] = [];
    const completion = await llm.complete(request('stream this please', { onDelta: (text) => pieces.push(text) }));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(completion.text);
    expect(completion.text).toBe('Reply to: stream this please');
  });

  it('fails with the domain’s errors, by kind', async () => {
    model.faults.push({ status: 429 });
    await expect(llm.complete(request('limited'))).rejects.toMatchObject({ name: 'LlmError', failure: 'rate_limited' });
    model.faults.push({ status: 500 });
    const failed = await llm.complete(request('broken')).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(LlmError);
    expect((failed as LlmError).failure).toBe('unavailable');
    expect(String((failed as LlmError).cause)).toContain('500');
  });

  it('cancels a call whose signal aborts', async () => {
    model.latencyMs = 1000;
    const abort = new AbortController();
    const call = llm.complete(request('never mind', { signal: abort.signal }));
    setTimeout(() => abort.abort(), 50);
    const started = Date.now();
    await expect(call).rejects.toMatchObject({ failure: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(900);
    model.latencyMs = 0;
  });
});
