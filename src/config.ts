import envSchema from 'env-schema';
import { Type, type Static } from 'typebox';
import type { RateLimitConfig } from './http/rate-limits.js';
import { redactSecrets, withoutCredentials } from './redact-secrets.js';
import { authConfig, blankToUndefined, notifyConfig, redisConfig } from './config-sections.js';
import type { AuthConfig } from './http/auth.js';

/** Origins a local browser app is served from while developing. */
const LOCAL_ORIGINS = ['3000', '5173', '8000']
  .flatMap((port) => [`http://localhost:${port}`, `http://127.0.0.1:${port}`])
  .join(',');

/** The longest delay a timer can wait. */
const MAX_TIMER_MS = 2_147_483_647;

/** Every environment variable Chatify reads, with its default. The README lists the same. */
const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8000 }),
  HOST: Type.String({ default: '127.0.0.1' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  DATABASE_URL: Type.Optional(Type.String()),
  FIREBASE_DATABASE_URL: Type.Optional(Type.String()),
  FIREBASE_PROJECT_ID: Type.Optional(Type.String()),
  FIREBASE_CLIENT_EMAIL: Type.Optional(Type.String()),
  FIREBASE_PRIVATE_KEY: Type.Optional(Type.String()),
  FIREBASE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  SQLITE_SYNCHRONOUS: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], { default: 'FULL' }),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  DATABASE_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 10_000 }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  REDIS_URL: Type.Optional(Type.String()),
  LOCK_TTL_MS: Type.Integer({ minimum: 100, default: 15_000 }),
  LOCK_WAIT_MS: Type.Integer({ minimum: 100, default: 120_000 }),
  OPENAI_API_KEY: Type.Optional(Type.String()),
  OPENAI_BASE_URL: Type.Optional(Type.String()),
  LLM_PROVIDER: Type.Optional(Type.Union([Type.Literal('openai'), Type.Literal('offline'), Type.Literal('')])),
  LLM_MODEL: Type.Optional(Type.String()),
  MEMORY_MODEL: Type.Optional(Type.String()),
  // Timers run at most 2^31 - 1 ms ahead; a longer one fires at once.
  LLM_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: MAX_TIMER_MS, default: 30_000 }),
  LLM_MAX_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
  LLM_DEADLINE_MS: Type.Integer({ minimum: 100, maximum: MAX_TIMER_MS, default: 60_000 }),
  LLM_FALLBACK_MODEL: Type.Optional(Type.String()),
  LLM_THREAD: Type.Boolean({ default: true }),
  LLM_BREAKER_FAILURES: Type.Integer({ minimum: 1, default: 5 }),
  LLM_BREAKER_RESET_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  CONTEXT_MAX_TOKENS: Type.Integer({ minimum: 1, default: 6000 }),
  CONTEXT_MAX_MESSAGES: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
  CONTEXT_SUMMARY: Type.Boolean({ default: true }),
  STREAM_RESUME_TTL_S: Type.Integer({ minimum: 1, maximum: 86_400, default: 300 }),
  SUMMARY_MAX_TOKENS: Type.Integer({ minimum: 16, maximum: 4000, default: 300 }),
  MEMORY_ENABLED: Type.Boolean({ default: true }),
  MEMORY_EVERY_EXCHANGES: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  MEMORY_MAX_ITEMS: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
  MEMORY_MAX_TOKENS: Type.Integer({ minimum: 16, maximum: 4000, default: 300 }),
  SESSION_IDLE_TIMEOUT: Type.String({ pattern: '^\\d+(ms|s|m|h)?$', default: '30m' }),
  SESSION_CACHE_MAX: Type.Integer({ minimum: 1, default: 10_000 }),
  MAX_MESSAGE_LENGTH: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 4000 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 262_144 }),
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  HTTP_KEEPALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  DEFAULT_TEMPLATE_ID: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$', default: 'friendly-assistant' }),
  CORS_ORIGINS: Type.String({ default: LOCAL_ORIGINS }),
  SHUTDOWN_DELAY_MS: Type.Integer({ minimum: 0, default: 1000 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  LOG_CONTENT: Type.Boolean({ default: false }),
  TRUST_PROXY: Type.String({ default: 'false' }),
  AUTH_MODE: Type.Union([Type.Literal('none'), Type.Literal('apikey'), Type.Literal('jwt')], { default: 'none' }),
  API_KEYS: Type.Optional(Type.String()),
  JWT_SECRET: Type.Optional(Type.String()),
  JWT_JWKS_URL: Type.Optional(Type.String()),
  JWT_ISSUER: Type.Optional(Type.String()),
  JWT_AUDIENCE: Type.Optional(Type.String()),
  JWT_REQUIRE_EXP: Type.Boolean({ default: true }),
  ADMIN_API_KEY: Type.Optional(Type.String()),
  RATE_LIMIT_USER_MESSAGES_PER_MINUTE: Type.Integer({ minimum: 0, default: 30 }),
  RATE_LIMIT_IP_MESSAGES_PER_MINUTE: Type.Integer({ minimum: 0, default: 300 }),
  RATE_LIMIT_USER_SESSIONS_PER_HOUR: Type.Integer({ minimum: 0, default: 60 }),
  RATE_LIMIT_IP_SESSIONS_PER_HOUR: Type.Integer({ minimum: 0, default: 600 }),
  RATE_LIMIT_USER_CONCURRENT_STREAMS: Type.Integer({ minimum: 0, default: 3 }),
  RATE_LIMIT_IP_CONCURRENT_STREAMS: Type.Integer({ minimum: 0, default: 50 }),
  TOKEN_QUOTA_PER_USER_PER_DAY: Type.Integer({ minimum: 0, default: 0 }),
  RATE_LIMIT_USER_PEOPLE_MESSAGES_PER_MINUTE: Type.Integer({ minimum: 0, default: 120 }),
  RATE_LIMIT_IP_PEOPLE_MESSAGES_PER_MINUTE: Type.Integer({ minimum: 0, default: 1200 }),
  RATE_LIMIT_USER_READ_RECEIPTS_PER_MINUTE: Type.Integer({ minimum: 0, default: 120 }),
  RATE_LIMIT_USER_CONNECTIONS_PER_HOUR: Type.Integer({ minimum: 0, default: 60 }),
  PEOPLE_MAX_MESSAGE_LENGTH: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 4000 }),
  NOTIFY_INCLUDE_TEXT: Type.Boolean({ default: true }),
  NOTIFY_WEBHOOK_URL: Type.Optional(Type.String()),
  NOTIFY_WEBHOOK_SECRET: Type.Optional(Type.String()),
  NOTIFY_WEBHOOK_RETRIES: Type.Integer({ minimum: 0, maximum: 20, default: 5 }),
  NOTIFY_WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 5000 }),
  VAPID_PUBLIC_KEY: Type.Optional(Type.String()),
  VAPID_PRIVATE_KEY: Type.Optional(Type.String()),
  VAPID_SUBJECT: Type.Optional(Type.String()),
  WEB_PUSH_ALLOWED_HOSTS: Type.Optional(Type.String()),
  FCM_ENABLED: Type.Boolean({ default: false }),
});
export type Env = Static<typeof EnvSchema>;

export type LlmConfig =
  | { provider: 'offline' }
  | {
      provider: 'openai';
      apiKey: string;
      baseURL: string | undefined;
      model: string | undefined;
      timeoutMs: number;
      maxRetries: number;
      /** For a whole model call, retries and fallback included (until a streamed reply begins). */
      deadlineMs: number;
      fallbackModel: string | undefined;
      breaker: { failures: number; resetMs: number };
      /** Run the SDK on a thread of its own, off the event loop that answers clients. */
      thread: boolean;
    };

export interface Config {
  port: number;
  host: string;
  logLevel: Env['LOG_LEVEL'];
  /** `sqlite:<path>`, `postgres://…`, or a Firebase Realtime Database URL (from FIREBASE_DATABASE_URL). */
  databaseUrl: string;
  firebase: {
    serviceAccount: { projectId: string; clientEmail: string; privateKey: string } | undefined;
    timeoutMs: number;
  };
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** PostgreSQL connection pool of this instance. */
  pool: { max: number; idleTimeoutMs: number; connectionTimeoutMs: number };
  /** Set for many instances: session locks and change news go through Redis. */
  redis: { url: string; lockTtlMs: number; lockWaitMs: number } | undefined;
  llm: LlmConfig;
  /** Housekeeping's model (titles): MEMORY_MODEL, else LLM_MODEL, else undefined (the personality's model). */
  memoryModel: string | undefined;
  /** Set when OPENAI_BASE_URL is given but unused (no key, no LLM_PROVIDER): worth a warning. */
  unusedBaseUrl: string | undefined;
  context: { maxTokens: number; maxMessages: number };
  /** How long a finished streamed reply can still be attached to (STREAM_RESUME_TTL_S), in ms. */
  streamResumeTtlMs: number;
  /** The rolling summary of what left the context window (CONTEXT_SUMMARY, SUMMARY_MAX_TOKENS). */
  summary: { enabled: boolean; maxTokens: number };
  /** Long-term memory of facts about users (MEMORY_*). */
  memory: { enabled: boolean; everyExchanges: number; maxItems: number; maxTokens: number };
  sessionCache: { maxSessions: number; idleTimeoutMs: number };
  maxMessageLength: number;
  bodyLimitBytes: number;
  /** Slow and idle clients are cut off: headers, a whole request (not its reply), an idle keep-alive socket. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  defaultTemplateId: string;
  corsOrigins: string[];
  auth: AuthConfig;
  /** Log message text and replies (off: logs never carry what people wrote). */
  logContent: boolean;
  /** Which proxies' X-Forwarded-For to believe: false, true, a hop count, or addresses/CIDRs. */
  trustProxy: boolean | number | string;
  /** On SIGTERM: /ready answers 503 for `delayMs` before the listener closes; replies under way get `timeoutMs`. */
  shutdown: { delayMs: number; timeoutMs: number };
  /** Per user and per IP; 0 turns a limit off. */
  rateLimits: RateLimitConfig;
  /** User-to-user chat. */
  people: { maxMessageLength: number };
  notify: NotifyConfig;
}

/** Who hears about a message its recipient was not connected to see. Each channel is off when unset. */
export interface NotifyConfig {
  /** Put the message text in notifications (off: they only say that a message arrived). */
  includeText: boolean;
  webhook: { url: string; secret: string | undefined; retries: number; timeoutMs: number } | undefined;
  webPush: { publicKey: string; privateKey: string; subject: string } | undefined;
  /** Hosts Web Push endpoints may point at (".example.com" matches subdomains); undefined: the browsers' push services. */
  webPushAllowedHosts: string[] | undefined;
  /** Firebase Cloud Messaging, with the FIREBASE_* service account or Google's application default credentials. */
  fcm: { enabled: true } | undefined;
}

/**
 * Reads the configuration: the only place that looks at the environment. `env` defaults to
 * process.env plus a `.env` file in the working directory; tests pass their own.
 */
export function loadConfig(env?: Record<string, string | undefined>): Config {
  const raw = envSchema<Env>({
    schema: structuredClone(EnvSchema) as object,
    data: env ?? process.env,
    dotenv: env === undefined,
  });
  const apiKey = blankToUndefined(raw.OPENAI_API_KEY);
  const baseURL = blankToUndefined(raw.OPENAI_BASE_URL);
  const provider = raw.LLM_PROVIDER === 'openai' || raw.LLM_PROVIDER === 'offline' ? raw.LLM_PROVIDER : apiKey ? 'openai' : 'offline';
  if (provider === 'offline' && apiKey) {
    throw new Error('LLM_PROVIDER=offline but OPENAI_API_KEY is set: the offline responder never answers when a key is configured. Unset one of them.');
  }
  return {
    port: raw.PORT,
    host: raw.HOST,
    logLevel: raw.LOG_LEVEL,
    // DATABASE_URL wins; FIREBASE_DATABASE_URL alone chooses Firebase; otherwise a local SQLite file.
    databaseUrl:
      blankToUndefined(raw.DATABASE_URL) ??
      (blankToUndefined(raw.FIREBASE_DATABASE_URL) ? `firebase:${raw.FIREBASE_DATABASE_URL}` : DEFAULT_DATABASE_URL),
    firebase: {
      serviceAccount:
        raw.FIREBASE_PROJECT_ID && raw.FIREBASE_CLIENT_EMAIL && raw.FIREBASE_PRIVATE_KEY
          ? {
              projectId: raw.FIREBASE_PROJECT_ID,
              clientEmail: raw.FIREBASE_CLIENT_EMAIL,
              // Keys pasted into one-line env files carry their newlines as "\n".
              privateKey: raw.FIREBASE_PRIVATE_KEY.replaceAll('\\n', '\n'),
            }
          : undefined,
      timeoutMs: raw.FIREBASE_TIMEOUT_MS,
    },
    sqliteSynchronous: raw.SQLITE_SYNCHRONOUS,
    pool: {
      max: raw.DATABASE_POOL_MAX,
      idleTimeoutMs: raw.DATABASE_IDLE_TIMEOUT_MS,
      connectionTimeoutMs: raw.DATABASE_CONNECT_TIMEOUT_MS,
    },
    redis: redisConfig(raw),
    llm:
      provider === 'offline'
        ? { provider }
        : {
            provider,
            // Local servers (Ollama, llama.cpp) need no key, but the SDK wants a non-empty one.
            apiKey: apiKey ?? 'not-needed',
            baseURL,
            model: blankToUndefined(raw.LLM_MODEL),
            timeoutMs: raw.LLM_TIMEOUT_MS,
            maxRetries: raw.LLM_MAX_RETRIES,
            deadlineMs: raw.LLM_DEADLINE_MS,
            fallbackModel: blankToUndefined(raw.LLM_FALLBACK_MODEL),
            breaker: { failures: raw.LLM_BREAKER_FAILURES, resetMs: raw.LLM_BREAKER_RESET_MS },
            thread: raw.LLM_THREAD,
          },
    memoryModel: blankToUndefined(raw.MEMORY_MODEL) ?? blankToUndefined(raw.LLM_MODEL),
    unusedBaseUrl: provider === 'offline' && baseURL ? withoutCredentials(baseURL) : undefined,
    context: { maxTokens: raw.CONTEXT_MAX_TOKENS, maxMessages: raw.CONTEXT_MAX_MESSAGES },
    summary: { enabled: raw.CONTEXT_SUMMARY, maxTokens: raw.SUMMARY_MAX_TOKENS },
    streamResumeTtlMs: raw.STREAM_RESUME_TTL_S * 1000,
    memory: {
      enabled: raw.MEMORY_ENABLED,
      everyExchanges: raw.MEMORY_EVERY_EXCHANGES,
      maxItems: raw.MEMORY_MAX_ITEMS,
      maxTokens: raw.MEMORY_MAX_TOKENS,
    },
    sessionCache: { maxSessions: raw.SESSION_CACHE_MAX, idleTimeoutMs: idleTimeout(raw.SESSION_IDLE_TIMEOUT) },
    maxMessageLength: raw.MAX_MESSAGE_LENGTH,
    bodyLimitBytes: raw.BODY_LIMIT_BYTES,
    http: httpTimeouts(raw),
    defaultTemplateId: raw.DEFAULT_TEMPLATE_ID,
    corsOrigins: raw.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    auth: authConfig(raw),
    logContent: raw.LOG_CONTENT,
    trustProxy: trustProxyOf(raw.TRUST_PROXY),
    shutdown: { delayMs: raw.SHUTDOWN_DELAY_MS, timeoutMs: raw.SHUTDOWN_TIMEOUT_MS },
    rateLimits: {
      userMessagesPerMinute: raw.RATE_LIMIT_USER_MESSAGES_PER_MINUTE,
      ipMessagesPerMinute: raw.RATE_LIMIT_IP_MESSAGES_PER_MINUTE,
      userSessionsPerHour: raw.RATE_LIMIT_USER_SESSIONS_PER_HOUR,
      ipSessionsPerHour: raw.RATE_LIMIT_IP_SESSIONS_PER_HOUR,
      userConcurrentStreams: raw.RATE_LIMIT_USER_CONCURRENT_STREAMS,
      ipConcurrentStreams: raw.RATE_LIMIT_IP_CONCURRENT_STREAMS,
      userTokensPerDay: raw.TOKEN_QUOTA_PER_USER_PER_DAY,
      userPeopleMessagesPerMinute: raw.RATE_LIMIT_USER_PEOPLE_MESSAGES_PER_MINUTE,
      ipPeopleMessagesPerMinute: raw.RATE_LIMIT_IP_PEOPLE_MESSAGES_PER_MINUTE,
      userReadReceiptsPerMinute: raw.RATE_LIMIT_USER_READ_RECEIPTS_PER_MINUTE,
      userConnectionsPerHour: raw.RATE_LIMIT_USER_CONNECTIONS_PER_HOUR,
    },
    people: { maxMessageLength: raw.PEOPLE_MAX_MESSAGE_LENGTH },
    notify: notifyConfig(raw),
  };
}

const DEFAULT_DATABASE_URL = 'sqlite:./data/chatify.db';

/**
 * `text` with every secret of this environment, and any password in a URL, replaced by [redacted]:
 * for errors at start-up, whose messages (ours or a driver's) may quote what they failed on.
 */
export function redactStartupError(text: string): string {
  return redactSecrets(text, process.env);
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** "1800" (seconds), "1800s", "30m", "2h", "500ms" → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration like 1800, 30m or 2h`);
  return Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS];
}

function trustProxyOf(text: string): boolean | number | string {
  if (text === 'true' || text === 'false') return text === 'true';
  return /^\d+$/.test(text) ? Number(text) : text;
}

function httpTimeouts(raw: Env): Config['http'] {
  // The headers are part of the request: Node refuses a headers timeout longer than the request's.
  if (raw.HTTP_HEADERS_TIMEOUT_MS > raw.HTTP_REQUEST_TIMEOUT_MS) {
    throw new Error('HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS.');
  }
  return {
    headersTimeoutMs: raw.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: raw.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: raw.HTTP_KEEPALIVE_TIMEOUT_MS,
  };
}

function idleTimeout(text: string): number {
  const ms = parseDuration(text);
  if (ms < 1000) throw new Error(`SESSION_IDLE_TIMEOUT must be at least 1 second, not "${text}".`);
  return ms;
}
