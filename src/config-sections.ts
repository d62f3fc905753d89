import type { AuthConfig } from './http/auth.js';
import type { Config, Env, NotifyConfig } from './config.js';

/** The sections of the configuration with rules of their own: sign-in, notifications and Redis. */

export function authConfig(raw: Env): AuthConfig {
  const apiKeys = (raw.API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  const jwt = {
    secret: blankToUndefined(raw.JWT_SECRET),
    jwksUrl: blankToUndefined(raw.JWT_JWKS_URL),
    issuer: blankToUndefined(raw.JWT_ISSUER),
    audience: blankToUndefined(raw.JWT_AUDIENCE),
    requireExp: raw.JWT_REQUIRE_EXP,
  };
  if (raw.AUTH_MODE === 'apikey' && apiKeys.length === 0) throw new Error('AUTH_MODE=apikey needs API_KEYS (comma-separated).');
  if (raw.AUTH_MODE === 'jwt' && !jwt.secret && !jwt.jwksUrl) {
    throw new Error('AUTH_MODE=jwt needs JWT_SECRET (HS256) or JWT_JWKS_URL (with JWT_ISSUER and JWT_AUDIENCE).');
  }
  if (jwt.secret && jwt.secret.length < 32) throw new Error('JWT_SECRET must be at least 32 characters.');
  if (jwt.secret && jwt.jwksUrl) throw new Error('Set JWT_SECRET or JWT_JWKS_URL, not both.');
  // A JWKS like Google's signs tokens for every project: only issuer and audience make them ours.
  if (jwt.jwksUrl && (!jwt.issuer || !jwt.audience)) throw new Error('JWT_JWKS_URL needs JWT_ISSUER and JWT_AUDIENCE.');
  return { mode: raw.AUTH_MODE, apiKeys, jwt, adminApiKey: blankToUndefined(raw.ADMIN_API_KEY) };
}

export function notifyConfig(raw: Env): NotifyConfig {
  const webhookUrl = blankToUndefined(raw.NOTIFY_WEBHOOK_URL);
  if (webhookUrl && !/^https?:\/\//.test(webhookUrl)) throw new Error('NOTIFY_WEBHOOK_URL must be an http(s) URL.');
  const vapid = [raw.VAPID_PUBLIC_KEY, raw.VAPID_PRIVATE_KEY, raw.VAPID_SUBJECT].map(blankToUndefined);
  if (vapid.some(Boolean) && !vapid.every(Boolean)) {
    throw new Error('Web Push needs all of VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT (mailto: or https: URL).');
  }
  const [publicKey, privateKey, subject] = vapid;
  return {
    includeText: raw.NOTIFY_INCLUDE_TEXT,
    webhook: webhookUrl
      ? {
          url: webhookUrl,
          secret: blankToUndefined(raw.NOTIFY_WEBHOOK_SECRET),
          retries: raw.NOTIFY_WEBHOOK_RETRIES,
          timeoutMs: raw.NOTIFY_WEBHOOK_TIMEOUT_MS,
        }
      : undefined,
    webPush: publicKey && privateKey && subject ? { publicKey, privateKey, subject } : undefined,
    webPushAllowedHosts: blankToUndefined(raw.WEB_PUSH_ALLOWED_HOSTS)
      ?.split(',')
      .map((host) => host.trim().toLowerCase())
      .filter(Boolean),
    fcm: raw.FCM_ENABLED ? { enabled: true } : undefined,
  };
}

export function redisConfig(raw: Env): Config['redis'] {
  const url = blankToUndefined(raw.REDIS_URL);
  if (!url) return undefined;
  // The Redis client reads redis:// URLs with Node's legacy parser, whose warning about a malformed
  // one (a port that is no number) prints the whole URL, password included: refuse it here first.
  if (/^rediss?:\/\//i.test(url) && !URL.canParse(url)) {
    throw new Error('REDIS_URL is not a valid URL; use redis://[:password@]host[:port][/db], or rediss:// for TLS.');
  }
  return { url, lockTtlMs: raw.LOCK_TTL_MS, lockWaitMs: raw.LOCK_WAIT_MS };
}

export function blankToUndefined<T extends string>(value: T | undefined): T | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
