import type { Agent } from 'node:https';
import type { Config, NotifyConfig } from '../config.js';
import { allNotifiers, type Notifier } from '../people/notifier.js';
import type { FcmTransport } from './fcm-notifier.js';
import type { NotifyLog, PushTargetDirectory } from './push-content.js';
import { WebhookNotifier } from './webhook-notifier.js';

/** Replaceable parts, for tests. */
export interface NotifierOverrides {
  fcmTransport?: FcmTransport;
  webPushAgent?: Agent;
  webhookMinTimeoutMs?: number;
}

/** Tells no one: what runs when no channel is configured. */
export const noNotifier: Notifier = { name: 'none', notify: async () => {} };

/**
 * Every channel the configuration turns on (webhook, Web Push, FCM), as one notifier. The push
 * libraries are loaded only for channels that are on: each costs memory.
 */
export async function createNotifier(
  config: NotifyConfig,
  firebase: Config['firebase'],
  targets: PushTargetDirectory,
  log: NotifyLog,
  overrides: NotifierOverrides = {},
): Promise<Notifier> {
  const notifiers: Notifier[] = [];
  if (config.webhook) {
    notifiers.push(
      new WebhookNotifier({
        ...config.webhook,
        log,
        ...(overrides.webhookMinTimeoutMs !== undefined ? { minTimeoutMs: overrides.webhookMinTimeoutMs } : {}),
      }),
    );
  }
  if (config.webPush) {
    const { WebPushNotifier } = await import('./web-push-notifier.js');
    notifiers.push(
      new WebPushNotifier({ vapid: config.webPush, targets, log, ...(overrides.webPushAgent ? { agent: overrides.webPushAgent } : {}) }),
    );
  }
  if (config.fcm) {
    const { FcmNotifier, firebaseFcmTransport } = await import('./fcm-notifier.js');
    notifiers.push(new FcmNotifier({ transport: overrides.fcmTransport ?? firebaseFcmTransport(firebase.serviceAccount), targets, log }));
  }
  return notifiers.length === 0 ? noNotifier : allNotifiers(notifiers);
}
