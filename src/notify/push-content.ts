import type { ConnectionStore } from '../people/connection-store.js';
import type { Notification } from '../people/notifier.js';
import type { PushTarget, StoredPushTarget } from '../people/types.js';

/** Where the notifiers log; a Fastify/pino logger fits. Entries never carry message text. */
export interface NotifyLog {
  warn(obj: object, msg: string): void;
}

/** The devices of a user that push notifiers send to, and forget when a push service says they are gone. */
export type PushTargetDirectory = Pick<ConnectionStore, 'listPushTargets' | 'removePushTarget'>;

/** A stored device of one kind. */
export type DeviceOf<K extends PushTarget['kind']> = StoredPushTarget & { target: Extract<PushTarget, { kind: K }> };

/**
 * The recipient's devices of one kind; none (and a warning) when the store cannot say, so one
 * notifier's trouble never reaches the sender.
 */
export async function devicesOf<K extends PushTarget['kind']>(
  kind: K,
  notification: Notification,
  { targets, log, notifier }: { targets: PushTargetDirectory; log: NotifyLog; notifier: string },
): Promise<DeviceOf<K>[]> {
  try {
    return (await targets.listPushTargets(notification.recipientId)).filter((t): t is DeviceOf<K> => t.target.kind === kind);
  } catch (error) {
    log.warn({ notifier, connection_id: notification.connectionId, err: describeError(error) }, 'push targets unavailable');
    return [];
  }
}

/**
 * Push services refuse payloads above about 4 KB (Web Push: 4078 bytes of plaintext, FCM: 4096 for the
 * whole message). The body is cut well below that, leaving room for the title and the other fields.
 */
const MAX_BODY_JSON_BYTES = 1500;

/** Who wrote is private too when the text is (user ids may be e-mail addresses). */
export function pushTitle(notification: Notification): string {
  return notification.text === null ? 'New message' : `New message from ${notification.senderId}`;
}

/** The message text, shortened to fit a push payload, or a generic line when text is turned off. */
export function pushBody(notification: Notification): string {
  if (notification.text === null) return 'You have a new message';
  return fitText(notification.text, MAX_BODY_JSON_BYTES);
}

/** Shortens `text` (by whole code points, ending in "…") until its JSON string takes at most `maxBytes` UTF-8 bytes. */
export function fitText(text: string, maxBytes: number): string {
  const jsonBytes = (s: string) => Buffer.byteLength(JSON.stringify(s));
  if (jsonBytes(text) <= maxBytes) return text;
  const codePoints = Array.from(text);
  let [low, high] = [0, codePoints.length];
  // The longest prefix that fits, by binary search: escapes make the byte count uneven per character.
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (jsonBytes(codePoints.slice(0, middle).join('') + '…') <= maxBytes) low = middle;
    else high = middle - 1;
  }
  return codePoints.slice(0, low).join('') + '…';
}

/** A failure as a short loggable description (never a payload). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    return code ? `${error.name} (${code}): ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}

/** The `code` property many Node and SDK errors carry (ECONNREFUSED, messaging/…). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
