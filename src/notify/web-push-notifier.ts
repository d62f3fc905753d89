import type { Agent } from 'node:https';
import webpush from 'web-push';
import type { Notification, Notifier } from '../people/notifier.js';
import { describeError, devicesOf, pushBody, pushTitle, type DeviceOf, type NotifyLog, type PushTargetDirectory } from './push-content.js';

export interface WebPushNotifierOptions {
  vapid: { publicKey: string; privateKey: string; subject: string };
  targets: PushTargetDirectory;
  log: NotifyLog;
  /** How long the push service keeps a message for an offline device, in seconds. */
  ttlSeconds?: number;
  /** Longest wait for the push service's answer. */
  timeoutMs?: number;
  /** The TLS agent for push services (tests trust a local certificate with it). */
  agent?: Agent;
}

/** What the service worker receives (decrypted) in its `push` event. */
export interface WebPushPayload {
  title: string;
  body: string;
  connection_id: string;
  seq: number;
  /** Where a click on the notification leads in the web app. */
  url: string;
}

export function webPushPayload(notification: Notification): WebPushPayload {
  return {
    title: pushTitle(notification),
    body: pushBody(notification),
    connection_id: notification.connectionId,
    seq: notification.seq,
    url: `/#/people/${encodeURIComponent(notification.connectionId)}`,
  };
}

type WebPushTarget = DeviceOf<'webpush'>;

/**
 * Sends an encrypted Web Push message (aes128gcm, VAPID-signed) to each browser subscription of the
 * recipient. Subscriptions the push service reports gone (404, 410) are forgotten.
 */
export class WebPushNotifier implements Notifier {
  readonly name = 'webpush';
  readonly #options: WebPushNotifierOptions;

  constructor(options: WebPushNotifierOptions) {
    this.#options = options;
  }

  async notify(notification: Notification): Promise<void> {
    const subscriptions = await devicesOf('webpush', notification, { ...this.#options, notifier: this.name });
    if (subscriptions.length === 0) return;
    const payload = JSON.stringify(webPushPayload(notification));
    await Promise.all(subscriptions.map((target) => this.#send(target, payload, notification.connectionId)));
  }

  async #send(stored: WebPushTarget, payload: string, connectionId: string): Promise<void> {
    const { vapid, ttlSeconds = 86_400, timeoutMs = 10_000, agent, targets, log } = this.#options;
    try {
      await webpush.sendNotification(stored.target.subscription, payload, {
        vapidDetails: vapid,
        TTL: ttlSeconds,
        timeout: timeoutMs,
        ...(agent ? { agent } : {}),
      });
    } catch (error) {
      const status = error instanceof webpush.WebPushError ? error.statusCode : undefined;
      const context = { notifier: this.name, connection_id: connectionId, target_id: stored.id, status, err: describeError(error) };
      if (status === 404 || status === 410) {
        // The browser unsubscribed or the subscription expired: it will never accept a message again.
        await targets.removePushTarget(stored.userId, stored.id).catch((removeError: unknown) =>
          log.warn({ ...context, err: describeError(removeError) }, 'could not forget an expired push subscription'),
        );
        return;
      }
      log.warn(context, 'web push notification failed');
    }
  }
}
