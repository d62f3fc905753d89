import { randomUUID } from 'node:crypto';
import { applicationDefault, cert, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getMessaging, type Message } from 'firebase-admin/messaging';
import type { Notification, Notifier } from '../people/notifier.js';
import { describeError, devicesOf, errorCode, pushBody, pushTitle, type DeviceOf, type NotifyLog, type PushTargetDirectory } from './push-content.js';

/** Sends one FCM message and resolves to its message id; the Firebase Admin SDK by default, a fake in tests. */
export interface FcmTransport {
  send(message: Message): Promise<string>;
  close?(): Promise<void>;
}

export type ServiceAccount = { projectId: string; clientEmail: string; privateKey: string };

/** FCM's answers that mean the token will never work again (app uninstalled, token rotated or malformed). */
const DEAD_TOKEN_CODES = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token']);

/**
 * The Firebase Admin SDK as a transport, with its own app (its own name, so it never clashes with the
 * Firebase store's). Credentials: the FIREBASE_* service account, else Google's application default
 * credentials (GOOGLE_APPLICATION_CREDENTIALS or the metadata server). The app is made on first use.
 */
export function firebaseFcmTransport(serviceAccount: ServiceAccount | undefined): FcmTransport {
  let app: App | undefined;
  return {
    send(message) {
      app ??= initializeApp(
        serviceAccount
          ? { credential: cert(serviceAccount), projectId: serviceAccount.projectId }
          : { credential: applicationDefault() },
        `chatify-fcm-${randomUUID()}`,
      );
      return getMessaging(app).send(message);
    },
    async close() {
      if (app) await deleteApp(app);
      app = undefined;
    },
  };
}

type FcmTarget = DeviceOf<'fcm'>;

export function fcmMessage(token: string, notification: Notification): Message {
  return {
    token,
    notification: { title: pushTitle(notification), body: pushBody(notification) },
    // FCM data values must be strings.
    data: { connection_id: notification.connectionId, seq: String(notification.seq), sender_id: notification.senderId },
    android: { priority: 'high' },
    // Wakes the iOS app in the background so it can fetch the conversation.
    apns: { payload: { aps: { contentAvailable: true } } },
  };
}

export interface FcmNotifierOptions {
  transport: FcmTransport;
  targets: PushTargetDirectory;
  log: NotifyLog;
}

/** Sends to each FCM registration token (Android, iOS, web apps built on Firebase) of the recipient. */
export class FcmNotifier implements Notifier {
  readonly name = 'fcm';
  readonly #options: FcmNotifierOptions;

  constructor(options: FcmNotifierOptions) {
    this.#options = options;
  }

  async notify(notification: Notification): Promise<void> {
    const devices = await devicesOf('fcm', notification, { ...this.#options, notifier: this.name });
    await Promise.all(devices.map((device) => this.#send(device, notification)));
  }

  async close(): Promise<void> {
    await this.#options.transport.close?.();
  }

  async #send(device: FcmTarget, notification: Notification): Promise<void> {
    const { transport, targets, log } = this.#options;
    try {
      await transport.send(fcmMessage(device.target.token, notification));
    } catch (error) {
      const code = errorCode(error);
      const context = { notifier: this.name, connection_id: notification.connectionId, target_id: device.id, code, err: describeError(error) };
      if (code && DEAD_TOKEN_CODES.has(code)) {
        await targets.removePushTarget(device.userId, device.id).catch((removeError: unknown) =>
          log.warn({ ...context, err: describeError(removeError) }, 'could not forget an expired FCM token'),
        );
        return;
      }
      log.warn(context, 'FCM notification failed');
    }
  }
}
