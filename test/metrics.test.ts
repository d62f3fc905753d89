import { describe, expect, it } from 'vitest';
import { useModelAndServer } from './support/model-and-server.js';
import { readEvents } from './support/sse.js';
import { LiveClient } from './support/live-client.js';

/** The value of one Prometheus sample, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const labelPart = rest.startsWith('{') ? rest.slice(1, rest.indexOf('}')) : '';
    if (Object.entries(labels).every(([k, v]) => labelPart.includes(`${k}="${v}"`)) && (rest[0] === '{' || rest[0] === ' ')) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

describe('/metrics', () => {
  const ctx = useModelAndServer({ model: { latencyMs: 20 } });

  it('exposes request latency by route and status, model latency and first token, tokens, sessions and errors', async () => {
    const id = await ctx.server.createSession('user_metrics');
    await ctx.server.send(id, 'hello');
    const stream = await fetch(`${ctx.server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'stream it' }),
    });
    await readEvents(stream);
    ctx.model.faults.push({ status: 500 });
    await ctx.server.send(id, 'fails');
    ctx.model.faults.push({ status: 500 });
    const failedStream = await fetch(`${ctx.server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'stream fails' }),
    });
    expect((await readEvents(failedStream)).at(-1)!.event).toBe('error');
    await ctx.server.get('/api/v1/chatbot/session/3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c');

    const res = await fetch(`${ctx.server.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(
      sample(text, 'chatify_http_request_duration_seconds_count', { route: '/api/v1/chatbot/session/:id/message', status: '200' }),
    ).toBe(3); // the plain send and the two streams
    expect(sample(text, 'chatify_http_request_duration_seconds_count', { route: '/api/v1/chatbot/session', status: '200' })).toBe(1);
    expect(sample(text, 'chatify_model_duration_seconds_count', { outcome: 'ok' })).toBe(2);
    expect(sample(text, 'chatify_model_duration_seconds_count', { outcome: 'unavailable' })).toBe(2);
    expect(sample(text, 'chatify_model_first_token_seconds_count')).toBe(1);
    expect(sample(text, 'chatify_model_tokens_total', { kind: 'prompt' })).toBeGreaterThan(0);
    expect(sample(text, 'chatify_model_tokens_total', { kind: 'completion' })).toBeGreaterThan(0);
    expect(sample(text, 'chatify_active_sessions')).toBe(1);
    // One plain failure, one inside a stream (whose HTTP status was already 200).
    expect(sample(text, 'chatify_errors_total', { code: 'provider_error' })).toBe(2);
    expect(sample(text, 'chatify_errors_total', { code: 'session_not_found' })).toBe(1);
    expect(text).not.toContain('hello');
  });

  it('counts open live sockets', async () => {
    const scrape = async () => sample(await (await fetch(`${ctx.server.baseUrl}/metrics`)).text(), 'chatify_live_sockets');
    const before = (await scrape()) ?? 0;
    const a = await LiveClient.connect(ctx.server.baseUrl, { user_id: 'metrics_a' });
    const b = await LiveClient.connect(ctx.server.baseUrl, { user_id: 'metrics_b' });
    expect(await scrape()).toBe(before + 2);
    await a.close();
    await b.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await scrape()).toBe(before);
  });
});
