import type { Message } from 'firebase-admin/messaging';
import { describe, expect, it } from 'vitest';
import { FcmNotifier, type FcmTransport } from '../../src/notify/fcm-notifier.js';
import type { StoredPushTarget } from '../../src/people/types.js';
import { aNotification, MemoryPushTargets, recordingLog } from './support.js';

/** FCM as far as the notifier can tell: records messages, fails for the tokens told to. */
class FakeFcm implements FcmTransport {
  readonly sent: Message[] = [];
  constructor(private readonly failures: Record<string, { code: string; message: string }> = {}) {}

  async send(message: Message): Promise<string> {
    this.sent.push(message);
    const token = 'token' in message ? message.token : '';
    const failure = this.failures[token];
    if (failure) throw Object.assign(new Error(failure.message), { code: failure.code });
    return `projects/test/messages/${this.sent.length}`;
  }
}

const device = (id: string, token: string, userId = 'bob'): StoredPushTarget => ({
  id,
  userId,
  createdAt: '2026-01-01T00:00:00.000Z',
  target: { kind: 'fcm', token },
});

describe('FCM notifier', () => {
  it("sends a notification with data to each of the recipient's tokens", async () => {
    const fcm = new FakeFcm();
    const webDevice: StoredPushTarget = {
      ...device('web', ''),
      target: { kind: 'webpush', subscription: { endpoint: 'https://push.example/1', keys: { p256dh: 'p', auth: 'a' } } },
    };
    const targets = new MemoryPushTargets([device('phone', 'tok-phone'), device('tablet', 'tok-tablet'), device('c', 'tok-carol', 'carol'), webDevice]);
    const log = recordingLog();
    const notifier = new FcmNotifier({ transport: fcm, targets, log });

    await notifier.notify(aNotification());

    expect(fcm.sent.map((m) => ('token' in m ? m.token : undefined)).sort()).toEqual(['tok-phone', 'tok-tablet']);
    expect(fcm.sent.find((m) => 'token' in m && m.token === 'tok-phone')).toEqual({
      token: 'tok-phone',
      notification: { title: 'New message from alice', body: 'Are we still on for lunch?' },
      data: { connection_id: 'c0ffee00-0000-4000-8000-000000000001', seq: '7', sender_id: 'alice' },
      android: { priority: 'high' },
      apns: { payload: { aps: { contentAvailable: true } } },
    });
    expect(log.entries).toEqual([]);
  });

  it('uses a generic body when the text is withheld', async () => {
    const fcm = new FakeFcm();
    const notifier = new FcmNotifier({ transport: fcm, targets: new MemoryPushTargets([device('phone', 'tok')]), log: recordingLog() });

    await notifier.notify(aNotification({ text: null }));

    expect(fcm.sent[0]!.notification).toEqual({ title: 'New message', body: 'You have a new message' });
    expect(JSON.stringify(fcm.sent)).not.toContain('lunch');
    expect(fcm.sent[0]!.notification!.title).not.toContain('alice');
  });

  it.each(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token'])(
    'forgets a token FCM answers %s for',
    async (code) => {
      const fcm = new FakeFcm({ 'tok-old': { code, message: 'Requested entity was not found.' } });
      const targets = new MemoryPushTargets([device('old', 'tok-old'), device('new', 'tok-new')]);
      const log = recordingLog();
      const notifier = new FcmNotifier({ transport: fcm, targets, log });

      await notifier.notify(aNotification());

      expect(targets.removed).toEqual(['old']);
      expect((await targets.listPushTargets('bob')).map((t) => t.id)).toEqual(['new']);
      expect(log.entries).toEqual([]);
    },
  );

  it('keeps the token on other failures, logs them without the text, and does not throw', async () => {
    const fcm = new FakeFcm({ tok: { code: 'messaging/internal-error', message: 'Internal error.' } });
    const targets = new MemoryPushTargets([device('phone', 'tok')]);
    const log = recordingLog();
    const notifier = new FcmNotifier({ transport: fcm, targets, log });

    await expect(notifier.notify(aNotification())).resolves.toBeUndefined();

    expect(targets.removed).toEqual([]);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]!.obj).toMatchObject({ notifier: 'fcm', target_id: 'phone', code: 'messaging/internal-error' });
    expect(JSON.stringify(log.entries)).not.toContain('lunch');
  });

  it('closes its transport', async () => {
    let closed = false;
    const transport: FcmTransport = { send: async () => 'id', close: async () => void (closed = true) };
    await new FcmNotifier({ transport, targets: new MemoryPushTargets(), log: recordingLog() }).close();
    expect(closed).toBe(true);
  });
});
