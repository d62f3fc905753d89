import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { Agent } from 'node:https';
import webpush from 'web-push';
import { afterEach, describe, expect, it } from 'vitest';
import { WebPushNotifier } from '../../src/notify/web-push-notifier.js';
import { PushTargetService } from '../../src/people/push-targets.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { StoredPushTarget } from '../../src/people/types.js';
import { aNotification, decryptWebPush, MemoryPushTargets, RecordingServer, recordingLog, TEST_TLS, type Responder } from './support.js';

const servers: RecordingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A local "push service" (web-push only speaks https, so it has the test certificate). */
async function pushService(respond: Responder = (_i, _r, res) => res.writeHead(201).end()): Promise<RecordingServer> {
  const server = await RecordingServer.start(respond, { tls: true });
  servers.push(server);
  return server;
}

/** A browser's subscription: its own P-256 key pair and auth secret, as PushManager.subscribe() makes them. */
function browserSubscription(endpoint: string, userId = 'bob', id = 'device-1') {
  const keys = createECDH('prime256v1');
  keys.generateKeys();
  const auth = randomBytes(16);
  const target: StoredPushTarget = {
    id,
    userId,
    createdAt: '2026-01-01T00:00:00.000Z',
    target: {
      kind: 'webpush',
      subscription: { endpoint, keys: { p256dh: keys.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } },
    },
  };
  return { target, keys, auth };
}

function notifierFor(targets: MemoryPushTargets | SqliteStore) {
  const vapid = webpush.generateVAPIDKeys();
  const log = recordingLog();
  const notifier = new WebPushNotifier({
    vapid: { ...vapid, subject: 'mailto:ops@example.com' },
    targets,
    log,
    timeoutMs: 2000,
    agent: new Agent({ ca: TEST_TLS.cert }),
  });
  return { notifier, log, vapid };
}

function decrypted(body: Buffer, keys: ECDH, auth: Buffer): unknown {
  return JSON.parse(decryptWebPush(body, keys, auth));
}

describe('Web Push notifier', () => {
  it('sends an encrypted, VAPID-signed message the subscribed browser can read', async () => {
    const service = await pushService();
    const browser = browserSubscription(`${service.url}/push/abc123`);
    const { notifier, log, vapid } = notifierFor(new MemoryPushTargets([browser.target]));

    await notifier.notify(aNotification());

    expect(service.requests).toHaveLength(1);
    const [request] = service.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/push/abc123');
    expect(request!.headers['content-encoding']).toBe('aes128gcm');
    expect(request!.headers['authorization']).toMatch(new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${vapid.publicKey}$`));
    expect(Number(request!.headers['ttl'])).toBeGreaterThan(0);
    expect(request!.body.length).toBeGreaterThan(0);
    expect(decrypted(request!.body, browser.keys, browser.auth)).toEqual({
      title: 'New message from alice',
      body: 'Are we still on for lunch?',
      connection_id: 'c0ffee00-0000-4000-8000-000000000001',
      seq: 7,
      url: '/#/people/c0ffee00-0000-4000-8000-000000000001',
    });
    expect(log.entries).toEqual([]);
  });

  it('says only that a message arrived when the text is withheld', async () => {
    const service = await pushService();
    const browser = browserSubscription(`${service.url}/push/1`);
    const { notifier } = notifierFor(new MemoryPushTargets([browser.target]));

    await notifier.notify(aNotification({ text: null }));

    expect(decrypted(service.requests[0]!.body, browser.keys, browser.auth)).toMatchObject({ body: 'You have a new message' });
  });

  it('shortens long text to fit a push message', async () => {
    const service = await pushService();
    const browser = browserSubscription(`${service.url}/push/1`);
    const { notifier, log } = notifierFor(new MemoryPushTargets([browser.target]));

    await notifier.notify(aNotification({ text: '😀"\n'.repeat(1500) }));

    const payload = decrypted(service.requests[0]!.body, browser.keys, browser.auth) as { body: string };
    expect(payload.body.endsWith('…')).toBe(true);
    expect(payload.body.startsWith('😀"\n😀')).toBe(true);
    expect(log.entries).toEqual([]);
  });

  it('sends to every subscription of the recipient and to no one else', async () => {
    const service = await pushService();
    const phone = browserSubscription(`${service.url}/push/phone`, 'bob', 'phone');
    const laptop = browserSubscription(`${service.url}/push/laptop`, 'bob', 'laptop');
    const someoneElse = browserSubscription(`${service.url}/push/carol`, 'carol', 'carol');
    const fcmDevice: StoredPushTarget = { id: 'fcm-1', userId: 'bob', createdAt: '2026-01-01T00:00:00.000Z', target: { kind: 'fcm', token: 't' } };
    const { notifier } = notifierFor(new MemoryPushTargets([phone.target, laptop.target, someoneElse.target, fcmDevice]));

    await notifier.notify(aNotification());

    expect(service.requests.map((r) => r.url).sort()).toEqual(['/push/laptop', '/push/phone']);
  });

  it.each([404, 410])('forgets a subscription the push service answers %i for', async (status) => {
    const service = await pushService((_i, _r, res) => res.writeHead(status).end());
    const browser = browserSubscription(`${service.url}/push/gone`);
    const targets = new MemoryPushTargets([browser.target]);
    const { notifier, log } = notifierFor(targets);

    await notifier.notify(aNotification());

    expect(service.requests).toHaveLength(1);
    expect(targets.removed).toEqual(['device-1']);
    expect(await targets.listPushTargets('bob')).toEqual([]);
    expect(log.entries).toEqual([]);
  });

  it('keeps a subscription on other failures, and logs them without the text', async () => {
    const service = await pushService((_i, _r, res) => res.writeHead(500).end());
    const browser = browserSubscription(`${service.url}/push/1`);
    const targets = new MemoryPushTargets([browser.target]);
    const { notifier, log } = notifierFor(targets);

    await expect(notifier.notify(aNotification())).resolves.toBeUndefined();

    expect(targets.removed).toEqual([]);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]!.obj).toMatchObject({ notifier: 'webpush', target_id: 'device-1', status: 500 });
    expect(JSON.stringify(log.entries)).not.toContain('lunch');
  });

  it('logs and carries on when the push targets cannot be read', async () => {
    const log = recordingLog();
    const notifier = new WebPushNotifier({
      vapid: { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' },
      targets: {
        listPushTargets: () => Promise.reject(new Error('database down')),
        removePushTarget: () => Promise.resolve(false),
      },
      log,
    });
    await expect(notifier.notify(aNotification())).resolves.toBeUndefined();
    expect(log.entries[0]!.msg).toBe('push targets unavailable');
  });

  it('forgets, in the real store, a subscription registered through the service once the push service says 410', async () => {
    const service = await pushService((_i, _r, res) => res.writeHead(410).end());
    const store = new SqliteStore({ path: ':memory:', synchronous: 'NORMAL' });
    try {
      const pushTargets = new PushTargetService({ store, now: () => new Date(), allowedHosts: ['127.0.0.1'] });
      const browser = browserSubscription(`${service.url}/push/expired`);
      const stored = await pushTargets.register('bob', browser.target.target);
      await pushTargets.register('bob', { kind: 'fcm', token: 'tok-kept' });
      const { notifier, log } = notifierFor(store);

      await notifier.notify(aNotification());

      expect(service.requests).toHaveLength(1);
      const left = await store.listPushTargets('bob');
      expect(left.map((t) => t.target.kind)).toEqual(['fcm']);
      expect(left.some((t) => t.id === stored.id)).toBe(false);
      expect(log.entries).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
