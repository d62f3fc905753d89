import type { Message } from 'firebase-admin/messaging';
import { afterEach, describe, expect, it } from 'vitest';
import type { NotifyConfig } from '../../src/config.js';
import { createNotifier } from '../../src/notify/create-notifier.js';
import { aNotification, MemoryPushTargets, RecordingServer, recordingLog } from './support.js';

const firebase = { serviceAccount: undefined, timeoutMs: 1000 };
const off: NotifyConfig = { includeText: true, webhook: undefined, webPush: undefined, fcm: undefined, webPushAllowedHosts: undefined };

const servers: RecordingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('createNotifier', () => {
  it("is a no-op named 'none' when no channel is configured", async () => {
    const notifier = await createNotifier(off, firebase, new MemoryPushTargets(), recordingLog());
    expect(notifier.name).toBe('none');
    await expect(notifier.notify(aNotification())).resolves.toBeUndefined();
  });

  it('combines the configured channels, and one failing does not stop the others', async () => {
    const server = await RecordingServer.start();
    servers.push(server);
    const sent: Message[] = [];
    const targets = new MemoryPushTargets([
      { id: 'phone', userId: 'bob', createdAt: '2026-01-01T00:00:00.000Z', target: { kind: 'fcm', token: 'tok' } },
    ]);
    const config: NotifyConfig = {
      ...off,
      webhook: { url: server.url, secret: undefined, retries: 0, timeoutMs: 1000 },
      webPush: { publicKey: 'unused', privateKey: 'unused', subject: 'mailto:ops@example.com' },
      fcm: { enabled: true },
    };
    const log = recordingLog();
    const notifier = await createNotifier(config, firebase, targets, log, {
      fcmTransport: { send: async (message) => (sent.push(message), 'id') },
    });

    expect(notifier.name).toBe('webhook+webpush+fcm');
    await notifier.notify(aNotification());
    await notifier.close?.();

    expect(server.requests).toHaveLength(1);
    expect(sent).toHaveLength(1);
    expect(log.entries).toEqual([]);
  });
});
