/** Keeping secrets out of what Chatify prints. */

/** Variables that are secrets, or may carry one (a password in a URL, a token in a webhook's path). */
const SECRET_VARIABLES = [
  'DATABASE_URL', 'FIREBASE_DATABASE_URL', 'FIREBASE_PRIVATE_KEY', 'REDIS_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL',
  'API_KEYS', 'JWT_SECRET', 'ADMIN_API_KEY', 'NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_SECRET', 'VAPID_PRIVATE_KEY',
] as const;

/** `scheme://user:password@`: the password part. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)[^\s@/]+@/gi;

/**
 * `text` with the value of every secret variable of `env`, and any password in a URL, replaced by
 * [redacted].
 */
export function redactSecrets(text: string, env: Record<string, string | undefined>): string {
  const secrets = SECRET_VARIABLES.flatMap((name) => [env[name] ?? '', ...(env[name] ?? '').split(',')])
    .map((value) => value.trim())
    .filter((value) => value.length >= 4)
    .sort((a, b) => b.length - a.length);
  let redacted = text;
  for (const secret of secrets) redacted = redacted.replaceAll(secret, '[redacted]');
  return redacted.replace(URL_PASSWORD, '$1[redacted]@');
}

/** A URL fit to print: without user name and password. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    return url.replace(URL_PASSWORD, '$1[redacted]@');
  }
}
