import { createHash } from 'node:crypto';
import { ChatError } from '../chat/errors.js';
import type { ConnectionStore } from './connection-store.js';
import type { PushTarget, StoredPushTarget } from './types.js';

const MAX_ENDPOINT_LENGTH = 2048;
const MAX_KEY_LENGTH = 256;
const MAX_TOKEN_LENGTH = 4096;
/** What browsers' PushSubscription keys are: base64url, maybe padded. */
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
/** FCM registration tokens: no spaces, no control characters. */
const FCM_TOKEN = /^[A-Za-z0-9_:.-]+$/;
/** Devices kept per user; registering one more forgets the oldest, so one user cannot make every notification fan out without end. */
export const MAX_PUSH_TARGETS_PER_USER = 20;
/** Plain http is fine only for a push service on this machine (tests, development), and only when allowed. */
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The browsers' push services (Chrome, Firefox, Edge, Safari). The server POSTs to whatever endpoint
 * is registered, so any other host would let a client aim the server at internal addresses.
 * Entries starting with "." match subdomains.
 */
export const DEFAULT_PUSH_HOSTS: readonly string[] = [
  'fcm.googleapis.com',
  'updates.push.services.mozilla.com',
  '.push.services.mozilla.com',
  '.notify.windows.com',
  '.push.apple.com',
];

export interface PushTargetDeps {
  store: Pick<ConnectionStore, 'putPushTarget' | 'listPushTargets' | 'removePushTarget'>;
  now: () => Date;
  /** Hosts Web Push endpoints may point at (WEB_PUSH_ALLOWED_HOSTS); DEFAULT_PUSH_HOSTS when omitted. */
  allowedHosts?: readonly string[];
}

/** A device's id: the same endpoint or token always gets the same one, so registering again replaces it. */
export function pushTargetId(target: PushTarget): string {
  const address = target.kind === 'webpush' ? target.subscription.endpoint : target.token;
  return createHash('sha256').update(address).digest('hex').slice(0, 32);
}

/** The devices (browser push subscriptions, FCM tokens) a user wants to hear about new messages on. */
export class PushTargetService {
  constructor(private readonly deps: PushTargetDeps) {}

  async register(userId: string, target: PushTarget): Promise<StoredPushTarget> {
    const stored: StoredPushTarget = {
      id: pushTargetId(validPushTarget(target, this.deps.allowedHosts ?? DEFAULT_PUSH_HOSTS)),
      userId,
      target: copyOf(target),
      createdAt: this.deps.now().toISOString(),
    };
    await this.deps.store.putPushTarget(stored);
    await this.#forgetBeyondLimit(userId, stored.id);
    return stored;
  }

  list(userId: string): Promise<StoredPushTarget[]> {
    return this.deps.store.listPushTargets(userId);
  }

  /** False when the user has no device with this id. */
  remove(userId: string, id: string): Promise<boolean> {
    return this.deps.store.removePushTarget(userId, id);
  }

  async #forgetBeyondLimit(userId: string, keepId: string): Promise<void> {
    const all = await this.deps.store.listPushTargets(userId);
    if (all.length <= MAX_PUSH_TARGETS_PER_USER) return;
    const oldestFirst = all.filter((t) => t.id !== keepId).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const target of oldestFirst.slice(0, all.length - MAX_PUSH_TARGETS_PER_USER)) {
      await this.deps.store.removePushTarget(userId, target.id);
    }
  }
}

/** Checks a target as a client sent it; throws invalid_push_target with what to fix. */
export function validPushTarget(target: PushTarget, allowedHosts: readonly string[] = DEFAULT_PUSH_HOSTS): PushTarget {
  if (target.kind === 'webpush') {
    const { endpoint, keys } = target.subscription;
    if (!isPushEndpoint(endpoint)) {
      throw invalid(`subscription.endpoint must be an https:// URL of at most ${MAX_ENDPOINT_LENGTH} characters.`);
    }
    const host = new URL(endpoint).hostname;
    if (!allowedHosts.some((allowed) => (allowed.startsWith('.') ? host.endsWith(allowed) : host === allowed))) {
      throw invalid(`subscription.endpoint must be a browser push service; ${host} is not one (WEB_PUSH_ALLOWED_HOSTS).`);
    }
    for (const [name, value] of Object.entries({ p256dh: keys.p256dh, auth: keys.auth })) {
      if (!BASE64URL.test(value) || value.length > MAX_KEY_LENGTH) {
        throw invalid(`subscription.keys.${name} must be a base64url key of at most ${MAX_KEY_LENGTH} characters.`);
      }
    }
    return target;
  }
  if (!FCM_TOKEN.test(target.token) || target.token.length > MAX_TOKEN_LENGTH) {
    throw invalid(`token must be an FCM registration token (letters, digits, - _ : .) of at most ${MAX_TOKEN_LENGTH} characters.`);
  }
  return target;
}

function isPushEndpoint(endpoint: string): boolean {
  if (endpoint.length > MAX_ENDPOINT_LENGTH) return false;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname));
}

/** Only the fields a target has: a client's extra fields (expirationTime…) are not stored. */
function copyOf(target: PushTarget): PushTarget {
  if (target.kind === 'fcm') return { kind: 'fcm', token: target.token };
  const { endpoint, keys } = target.subscription;
  return { kind: 'webpush', subscription: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } } };
}

function invalid(message: string): ChatError {
  return new ChatError('invalid_push_target', message);
}
