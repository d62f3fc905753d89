import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChatError } from '../../src/chat/errors.js';
import { DEFAULT_PUSH_HOSTS, MAX_PUSH_TARGETS_PER_USER, PushTargetService } from '../../src/people/push-targets.js';
import type { PushTarget, StoredPushTarget } from '../../src/people/types.js';

/** The three store methods the service needs, in memory (keyed by user and id, like the stores). */
class MemoryStore {
  readonly rows = new Map<string, StoredPushTarget>();
  async putPushTarget(target: StoredPushTarget): Promise<void> {
    this.rows.set(`${target.userId}/${target.id}`, target);
  }
  async listPushTargets(userId: string): Promise<StoredPushTarget[]> {
    return [...this.rows.values()].filter((t) => t.userId === userId);
  }
  async removePushTarget(userId: string, id: string): Promise<boolean> {
    return this.rows.delete(`${userId}/${id}`);
  }
}

function service() {
  const store = new MemoryStore();
  let clock = Date.parse('2026-03-01T12:00:00.000Z');
  const allowedHosts = [...DEFAULT_PUSH_HOSTS, 'push.example', '127.0.0.1', 'localhost'];
  const pushTargets = new PushTargetService({ store, now: () => new Date((clock += 1000)), allowedHosts });
  return { store, pushTargets };
}

const webpushTarget = (endpoint: string, keys = { p256dh: 'BNcR-key', auth: 'tBHI-auth' }): PushTarget => ({
  kind: 'webpush',
  subscription: { endpoint, keys },
});

async function refusal(promise: Promise<unknown>): Promise<ChatError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ChatError);
  expect((error as ChatError).code).toBe('invalid_push_target');
  return error as ChatError;
}

describe('PushTargetService', () => {
  it('stores a web push subscription under a hash of its endpoint', async () => {
    const { pushTargets, store } = service();
    const endpoint = 'https://fcm.googleapis.com/fcm/send/abc:def';

    const stored = await pushTargets.register('bob', webpushTarget(endpoint));

    expect(stored).toEqual({
      id: createHash('sha256').update(endpoint).digest('hex').slice(0, 32),
      userId: 'bob',
      target: webpushTarget(endpoint),
      createdAt: '2026-03-01T12:00:01.000Z',
    });
    expect(await pushTargets.list('bob')).toEqual([stored]);
    expect(store.rows.size).toBe(1);
  });

  it('stores an FCM token under a hash of the token', async () => {
    const { pushTargets } = service();
    const stored = await pushTargets.register('bob', { kind: 'fcm', token: 'dQw4w9WgXcQ:APA91b' });
    expect(stored.id).toBe(createHash('sha256').update('dQw4w9WgXcQ:APA91b').digest('hex').slice(0, 32));
    expect(stored.target).toEqual({ kind: 'fcm', token: 'dQw4w9WgXcQ:APA91b' });
  });

  it('replaces a device registered again, and stores no extra fields a client sent', async () => {
    const { pushTargets, store } = service();
    const first = await pushTargets.register('bob', webpushTarget('https://push.example/1'));
    const withExtras = {
      kind: 'webpush',
      subscription: { endpoint: 'https://push.example/1', expirationTime: null, keys: { p256dh: 'new-key', auth: 'new-auth' } },
    } as PushTarget;
    const second = await pushTargets.register('bob', withExtras);

    expect(second.id).toBe(first.id);
    expect(store.rows.size).toBe(1);
    expect((await pushTargets.list('bob'))[0]!.target).toEqual(webpushTarget('https://push.example/1', { p256dh: 'new-key', auth: 'new-auth' }));
  });

  it('removes a device, and says when there was none', async () => {
    const { pushTargets } = service();
    const stored = await pushTargets.register('bob', { kind: 'fcm', token: 'tok' });
    expect(await pushTargets.remove('carol', stored.id)).toBe(false);
    expect(await pushTargets.remove('bob', stored.id)).toBe(true);
    expect(await pushTargets.remove('bob', stored.id)).toBe(false);
    expect(await pushTargets.list('bob')).toEqual([]);
  });

  it('refuses endpoints outside the allowed push services, so the server cannot be aimed at internal hosts', async () => {
    const store = new MemoryStore();
    const pushTargets = new PushTargetService({ store, now: () => new Date() });
    for (const endpoint of ['https://169.254.169.254/latest', 'https://internal.example/admin', 'http://127.0.0.1:9000/push', 'https://evil.push.apple.com.attacker.example/x']) {
      const error = await refusal(pushTargets.register('bob', webpushTarget(endpoint)));
      expect(error.message).toContain('push service');
    }
    for (const endpoint of ['https://fcm.googleapis.com/fcm/send/x', 'https://web.push.apple.com/QO', 'https://wns2-par02p.notify.windows.com/w/?token=x']) {
      await expect(pushTargets.register('bob', webpushTarget(endpoint))).resolves.toMatchObject({ userId: 'bob' });
    }
    expect(store.rows.size).toBe(3);
  });

  it('accepts https endpoints, and plain http only on this machine', async () => {
    const { pushTargets } = service();
    for (const endpoint of ['https://updates.push.services.mozilla.com/wpush/v2/x', 'http://127.0.0.1:9000/push', 'http://localhost/push']) {
      await expect(pushTargets.register('bob', webpushTarget(endpoint))).resolves.toMatchObject({ userId: 'bob' });
    }
  });

  it.each([
    ['http://push.example/1', 'endpoint'],
    ['ftp://push.example/1', 'endpoint'],
    ['not a url', 'endpoint'],
    ['', 'endpoint'],
    ['https://user:pass@push.example/1', 'endpoint'],
    [`https://push.example/${'x'.repeat(2100)}`, 'endpoint'],
  ])('refuses the endpoint %j', async (endpoint, field) => {
    const { pushTargets, store } = service();
    const error = await refusal(pushTargets.register('bob', webpushTarget(endpoint)));
    expect(error.message).toContain(field);
    expect(store.rows.size).toBe(0);
  });

  it('refuses empty or oversized subscription keys', async () => {
    const { pushTargets } = service();
    await refusal(pushTargets.register('bob', webpushTarget('https://push.example/1', { p256dh: '', auth: 'a' })));
    await refusal(pushTargets.register('bob', webpushTarget('https://push.example/1', { p256dh: 'p', auth: '  ' })));
    await refusal(pushTargets.register('bob', webpushTarget('https://push.example/1', { p256dh: 'p'.repeat(300), auth: 'a' })));
  });

  it('refuses empty or oversized FCM tokens', async () => {
    const { pushTargets } = service();
    await refusal(pushTargets.register('bob', { kind: 'fcm', token: '' }));
    await refusal(pushTargets.register('bob', { kind: 'fcm', token: ' ' }));
    await refusal(pushTargets.register('bob', { kind: 'fcm', token: 'x'.repeat(4097) }));
    await expect(pushTargets.register('bob', { kind: 'fcm', token: 'x'.repeat(4096) })).resolves.toBeDefined();
  });

  it(`keeps at most ${MAX_PUSH_TARGETS_PER_USER} devices per user, forgetting the oldest`, async () => {
    const { pushTargets } = service();
    const first = await pushTargets.register('bob', { kind: 'fcm', token: 'tok-0' });
    for (let i = 1; i < MAX_PUSH_TARGETS_PER_USER; i++) await pushTargets.register('bob', { kind: 'fcm', token: `tok-${i}` });
    expect(await pushTargets.list('bob')).toHaveLength(MAX_PUSH_TARGETS_PER_USER);

    const newest = await pushTargets.register('bob', { kind: 'fcm', token: 'tok-new' });

    const ids = (await pushTargets.list('bob')).map((t) => t.id);
    expect(ids).toHaveLength(MAX_PUSH_TARGETS_PER_USER);
    expect(ids).toContain(newest.id);
    expect(ids).not.toContain(first.id);
  });
});
