import type { Agent } from 'node:https';
import type { Config, NotifyConfig } from '../config.js';
import { allNotifiers, type Notifier } from '../people/notifier.js';
import { FcmNotifier, firebaseFcmTransport, type FcmTransport } from './fcm-notifier.js';
import type { NotifyLog, PushTargetDirectory } from './push-content.js';
import { WebPushNotifier } from './web-push-notifier.js';
import { WebhookNotifier } from './webhook-notifier.js';

/** Replaceable parts, for tests. */
export interface NotifierOverrides {
  fcmTransport?: FcmTransport;
  webPushAgent?: Agent;
  webhookMinTimeoutMs?: number;
}

/** Tells no one: what runs when no channel is configured. */
export const noNotifier: Notifier = { name: 'none', notify: async () => {} };

/** Every channel the configuration turns on (webhook, Web Push, FCM), as one notifier. */
export function createNotifier(
  config: NotifyConfig,
  firebase: Config['firebase'],
  targets: PushTargetDirectory,
  log: NotifyLog,
  overrides: NotifierOverrides = {},
): Notifier {
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
    notifiers.push(
      new WebPushNotifier({ vapid: config.webPush, targets, log, ...(overrides.webPushAgent ? { agent: overrides.webPushAgent } : {}) }),
    );
  }
  if (config.fcm) {
    notifiers.push(new FcmNotifier({ transport: overrides.fcmTransport ?? firebaseFcmTransport(firebase.serviceAccount), targets, log }));
  }
  return notifiers.length === 0 ? noNotifier : allNotifiers(notifiers);
}
