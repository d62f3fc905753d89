import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookNotifier, retryAfterMs, type WebhookNotifierOptions } from '../../src/notify/webhook-notifier.js';
import { aNotification, RecordingServer, recordingLog, unusedPort, type Responder } from './support.js';

const SECRET = 'whsec_test_0123456789';
const servers: RecordingServer[] = [];
const notifiers: WebhookNotifier[] = [];

afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function receiver(respond?: Responder): Promise<RecordingServer> {
  const server = await RecordingServer.start(respond);
  servers.push(server);
  return server;
}

function webhook(url: string, options: Partial<WebhookNotifierOptions> = {}) {
  const log = recordingLog();
  const notifier = new WebhookNotifier({ url, secret: SECRET, retries: 3, timeoutMs: 2000, minTimeoutMs: 5, log, ...options });
  notifiers.push(notifier);
  return { notifier, log };
}

const statuses =
  (...codes: number[]): Responder =>
  (index, _request, response) => {
    response.statusCode = codes[Math.min(index, codes.length - 1)] ?? 200;
    response.end();
  };

describe('webhook notifier', () => {
  it('drops notifications past its backlog instead of piling them up while the receiver is down', async () => {
    const server = await receiver(statuses(503));
    const { notifier, log } = webhook(server.url, { maxPending: 2, retries: 20, minTimeoutMs: 50 });
    const held = [notifier.notify(aNotification()), notifier.notify(aNotification())];
    await notifier.notify(aNotification()); // resolves at once: dropped
    expect(log.entries.map((e) => e.msg)).toContain('webhook backlog full; notification dropped');
    await notifier.close();
    await Promise.all(held);
  });

  it('POSTs the notification as snake_case JSON, signed with HMAC-SHA256 of the exact body', async () => {
    const server = await receiver();
    const { notifier, log } = webhook(`${server.url}/hooks/chatify`);

    await notifier.notify(aNotification());

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/hooks/chatify');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe('chatify');
    expect(request!.headers['x-chatify-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    const expected = createHmac('sha256', SECRET).update(request!.body).digest('hex');
    expect(request!.headers['x-chatify-signature']).toBe(`sha256=${expected}`);
    expect(JSON.parse(request!.body.toString('utf8'))).toEqual({
      type: 'message',
      user_id: 'bob',
      connection_id: 'c0ffee00-0000-4000-8000-000000000001',
      message: { id: 'm-1', seq: 7, sender_id: 'alice', content: 'Are we still on for lunch?', timestamp: '2026-01-02T03:04:05.000Z' },
      unread_count: 3,
    });
    expect(log.entries).toEqual([]);
  });

  it('sends no signature without a secret', async () => {
    const server = await receiver();
    const { notifier } = webhook(server.url, { secret: undefined });
    await notifier.notify(aNotification());
    expect(server.requests[0]!.headers['x-chatify-signature']).toBeUndefined();
  });

  it('sends content null when the notification carries no text (NOTIFY_INCLUDE_TEXT=false)', async () => {
    const server = await receiver();
    const { notifier } = webhook(server.url);
    await notifier.notify(aNotification({ text: null }));
    const body = JSON.parse(server.requests[0]!.body.toString('utf8')) as { message: Record<string, unknown> };
    expect(body.message).toHaveProperty('content', null);
  });

  it('retries 503s with the same delivery id until the receiver accepts', async () => {
    const server = await receiver(statuses(503, 503, 200));
    const { notifier, log } = webhook(server.url);

    await notifier.notify(aNotification());

    expect(server.requests).toHaveLength(3);
    const ids = new Set(server.requests.map((r) => r.headers['x-chatify-delivery']));
    expect(ids.size).toBe(1);
    expect(log.entries).toEqual([]);
  });

  it('gives each notification its own delivery id', async () => {
    const server = await receiver();
    const { notifier } = webhook(server.url);
    await notifier.notify(aNotification());
    await notifier.notify(aNotification({ seq: 8 }));
    expect(server.requests[0]!.headers['x-chatify-delivery']).not.toBe(server.requests[1]!.headers['x-chatify-delivery']);
  });

  it('does not retry a 400, and logs the failure without the message text', async () => {
    const server = await receiver(statuses(400));
    const { notifier, log } = webhook(server.url);

    await expect(notifier.notify(aNotification())).resolves.toBeUndefined();

    expect(server.requests).toHaveLength(1);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]!.obj).toMatchObject({ notifier: 'webhook', attempts: 1 });
    expect(JSON.stringify(log.entries)).not.toContain('lunch');
  });

  it('waits for Retry-After before trying again after a 429', async () => {
    const server = await receiver((index, _request, response) => {
      response.statusCode = index === 0 ? 429 : 200;
      if (index === 0) response.setHeader('retry-after', '1');
      response.end();
    });
    const { notifier } = webhook(server.url);

    await notifier.notify(aNotification());

    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('gives up after its retries when nothing listens, without throwing', async () => {
    const { notifier, log } = webhook(`http://127.0.0.1:${await unusedPort()}/hook`, { retries: 2 });

    await expect(notifier.notify(aNotification())).resolves.toBeUndefined();

    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]!.msg).toBe('webhook notification failed');
    expect(log.entries[0]!.obj).toMatchObject({ attempts: 3 });
    expect(String((log.entries[0]!.obj as { err: unknown }).err)).toContain('ECONNREFUSED');
  });

  it('gives up on a receiver that never answers, one timeout per attempt', async () => {
    const server = await receiver(() => {});
    const { notifier, log } = webhook(server.url, { retries: 1, timeoutMs: 200 });

    const started = Date.now();
    await notifier.notify(aNotification());

    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(String((log.entries[0]!.obj as { err: unknown }).err)).toContain('no response within 200 ms');
  });

  it('stops waiting to retry when closed, so shutdown is not held up', async () => {
    const server = await receiver(statuses(503));
    const { notifier, log } = webhook(server.url, { retries: 10, minTimeoutMs: 30_000 });

    const delivery = notifier.notify(aNotification());
    await expect.poll(() => server.requests.length).toBe(1);
    const started = Date.now();
    await notifier.close();
    await delivery;

    expect(Date.now() - started).toBeLessThan(1000);
    expect(server.requests).toHaveLength(1);
    expect(log.entries[0]!.msg).toBe('webhook notification abandoned: shutting down');
    // After close nothing more goes out.
    await notifier.notify(aNotification());
    expect(server.requests).toHaveLength(1);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, capped', () => {
    expect(retryAfterMs('3', 60_000)).toBe(3000);
    expect(retryAfterMs('3600', 60_000)).toBe(60_000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 60_000, 5000)).toBe(5000);
    expect(retryAfterMs('soon', 60_000)).toBeUndefined();
    expect(retryAfterMs(null, 60_000)).toBeUndefined();
  });
});
