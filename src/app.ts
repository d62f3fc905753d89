import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import cors from '@fastify/cors';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Llm } from './chat/llm.js';
import { PersonalityService } from './chat/personality-service.js';
import { ChatService } from './chat/session-service.js';
import { Housekeeping } from './chat/housekeeping.js';
import { assembleConversation } from './conversation.js';
import { SessionDirectory } from './chat/session-directory.js';
import { ConnectionService } from './people/connection-service.js';
import { PushTargetService } from './people/push-targets.js';
import { createNotifier, type NotifierOverrides } from './notify/create-notifier.js';
import { connectionRoutes } from './http/routes/connections.js';
import { liveRoutes } from './http/routes/live.js';
import { pushRoutes } from './http/routes/push.js';
import { Connection, Message } from './http/schemas/connections.js';
import { countTokens } from './chat/token-count.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './http/error-handler.js';
import { chatbotRoutes } from './http/routes/chatbot.js';
import { messageTreeRoutes } from './http/routes/message-tree.js';
import { replyStreamRoutes } from './http/routes/reply-stream.js';
import { sessionTransferRoutes } from './http/routes/session-transfer.js';
import { healthRoutes } from './http/routes/health.js';
import { personalityRoutes } from './http/routes/personalities.js';
import { memoryRoutes } from './http/routes/memories.js';
import { ErrorBody } from './http/schemas/common.js';
import { Personality } from './http/schemas/personalities.js';
import { registerBodyParsing } from './http/body-parsing.js';
import { registerAuth } from './http/auth.js';
import { rateLimitHooks } from './http/rate-limits.js';
import { registerMetrics } from './http/metrics-routes.js';
import { OneLineRequestLog } from './http/request-log.js';
import { registerValidation } from './http/validation.js';
import { serverTimeouts } from './http/server-timeouts.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { registerBareRefusals } from './http/bare-refusals.js';
import { localCoordination, type Coordination } from './coordination/coordination.js';
import { createLlm } from './llm/create-llm.js';
import { MeteredLlm } from './llm/metered-llm.js';
import { Metrics } from './metrics.js';
import { openStore, type ChatifyStore } from './store/open-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { logWriterThread } from './store/sqlite/thread-writer.js';

/** Replaceable parts, for tests and embedding; each defaults to what the config names. */
export interface AppDeps {
  store?: ChatifyStore;
  llm?: Llm;
  coordination?: Coordination;
  now?: () => Date;
  /** Notification transports (FCM is unreachable from tests). */
  notifiers?: NotifierOverrides;
  /** How often live sockets are pinged (default 30 s). */
  heartbeatMs?: number;
}

export interface Chatify {
  app: FastifyInstance;
  chat: ChatService;
  personalities: PersonalityService;
  connections: ConnectionService;
  store: ChatifyStore;
  llm: Llm;
  /** Work beside the conversation (titles); tests wait for it with `idle()`. */
  housekeeping: Housekeeping;
  /** Makes /ready answer 503 so traffic drains before the server closes. */
  stopAccepting(): void;
}

/** The built web app: dist/web beside both src/ (tsx) and dist/ (compiled). */
const WEB_ROOT = fileURLToPath(new URL('../dist/web/', import.meta.url));

const API_DESCRIPTION = `Chatify runs conversations between people and AI personalities.

Errors always have the body \`{"success": false, "error": {"code": "...", "message": "..."}}\`.
Use this document to generate clients, for example a Dart client for a Flutter app.`;

/** Builds the whole server from its configuration: plugins, then services, then routes. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<Chatify> {
  const store = deps.store ?? (await openStore(config));
  const metrics = new Metrics();
  const llm = new MeteredLlm(deps.llm ?? (await createLlm(config.llm)), metrics);
  const now = deps.now ?? (() => new Date());
  const coordination =
    deps.coordination ??
    (config.redis
      ? // Loaded only for many instances: the Redis client costs memory a single instance need not spend.
        (await import('./coordination/redis-coordination.js')).redisCoordination(config.redis.url, {
          ttlMs: config.redis.lockTtlMs,
          waitMs: config.redis.lockWaitMs,
        }, config.streamResumeTtlMs)
      : localCoordination({ replyTtlMs: config.streamResumeTtlMs }));

  const personalities = new PersonalityService({
    store,
    countTokens,
    now,
    defaultPersonalityId: config.defaultTemplateId,
    changes: coordination.changes,
  });
  await personalities.init();
  const housekeeping = new Housekeeping(
    { concurrency: 2, maxPending: 1000, timeoutMs: 30_000, retries: 2, retryDelayMs: 250 },
    { finished: (kind, outcome, seconds) => metrics.housekeeping.observe({ kind, outcome }, seconds) },
  );
  metrics.watchHousekeeping(() => housekeeping.size);
  // Housekeeping's tokens count toward the user's quota, kept by the rate limits (set up with the routes).
  let spendTokens: (userId: string, tokens: number) => void = () => undefined;
  const { chat, memories, transfer } = assembleConversation({
    config,
    store,
    llm,
    personalities,
    housekeeping,
    countTokens,
    now,
    lock: coordination.lock,
    onHousekeepingTokens: (session, tokens) => spendTokens(session.userId, tokens),
    // A server database may be shared by other instances: never trust memory over it.
    sharedStore: coordination.kind === 'redis' || store.kind !== 'sqlite',
  });
  metrics.watchActiveSessions(() => chat.activeSessionCount);

  const timeouts = serverTimeouts(config.http);
  const app = Fastify({
    logger: { level: config.logLevel },
    logController: new OneLineRequestLog(),
    // Behind a load balancer, per-IP limits need the client's address from X-Forwarded-For.
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (config.trustProxy as number)
        : config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    ...timeouts,
    // A request without Host is refused by registerBareRefusals, with our error body.
    http: { ...timeouts.http, requireHostHeader: false },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors,
    clientErrorHandler,
    // Request bodies with "__proto__" or "constructor.prototype" are refused outright.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  }).withTypeProvider<TypeBoxTypeProvider>();

  housekeeping.setLog(app.log);
  const writerThread = store instanceof SqliteStore ? store.writerThread : null;
  if (writerThread) logWriterThread(writerThread, app.log);
  const notifier = await createNotifier(config.notify, config.firebase, store, app.log, deps.notifiers);
  const connections = new ConnectionService(
    { store, hub: coordination.live, notifier, now, newId: randomUUID, log: app.log },
    { maxMessageLength: config.people.maxMessageLength, includeText: config.notify.includeText },
  );
  const pushTargets = new PushTargetService({
    store,
    now,
    ...(config.notify.webPushAllowedHosts ? { allowedHosts: config.notify.webPushAllowedHosts } : {}),
  });

  let accepting = true;
  registerMetrics(app, metrics);
  registerValidation(app);
  registerBodyParsing(app);
  registerErrorHandling(app);
  app.addSchema(ErrorBody);
  app.addSchema(Personality);
  app.addSchema(Connection);
  app.addSchema(Message);

  registerSecurityHeaders(app);
  registerBareRefusals(app);
  await app.register(cors, {
    origin: config.corsOrigins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['Retry-After', 'Idempotent-Replayed', 'X-Next-Cursor', 'Server-Timing'],
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Chatify API', version: '1.0.0', description: API_DESCRIPTION },
      tags: [
        { name: 'chatbot', description: 'Conversations with a personality' },
        { name: 'personalities', description: 'Personality templates' },
        { name: 'settings', description: 'Universal rules' },
        { name: 'people', description: 'User-to-user chat: connections, messages, live socket, push devices' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    // "Going away": clients reconnect (to another instance). One that does not answer the close
    // handshake is cut off, so it cannot hold the shutdown up.
    preClose: async function (this: FastifyInstance) {
      const clients = [...this.websocketServer.clients];
      for (const client of clients) client.close(1001, 'server shutting down');
      this.websocketServer.close();
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, config.shutdown.timeoutMs / 4)).unref());
      for (const client of clients) client.terminate();
    },
  });

  await app.register(healthRoutes, { store, coordination, provider: llm.provider, accepting: () => accepting });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  const limits = rateLimitHooks(config.rateLimits, coordination, (id) => chat.sessionOwner(id));
  spendTokens = limits.spendTokens;
  await app.register(
    async (api) => {
      registerAuth(api, config.auth);
      const turns = {
        chat,
        replies: coordination.replies,
        limits,
        logContent: config.logContent,
        onStreamError: (code: string) => metrics.errors.inc({ code }),
      };
      await api.register(chatbotRoutes, { ...turns, directory: new SessionDirectory(store), personalities });
      await api.register(messageTreeRoutes, turns);
      await api.register(replyStreamRoutes, { chat, replies: coordination.replies, limits });
      await api.register(sessionTransferRoutes, { chat, personalities, transfer });
      await api.register(personalityRoutes, { personalities });
      await api.register(memoryRoutes, { memories, personalities });
      await api.register(connectionRoutes, {
        connections,
        limitMessages: limits.peopleMessages,
        limitReadReceipts: limits.readReceipts,
        limitNewConnections: limits.newConnections,
      });
      await api.register(liveRoutes, { connections, store, hub: coordination.live, heartbeatMs: deps.heartbeatMs,
        openSockets: metrics.liveSockets,
        messageWait: limits.peopleMessageWait,
        readReceiptWait: limits.readReceiptWait,
        typingAllowed: limits.typingAllowed,
      });
      await api.register(pushRoutes, { pushTargets, vapidPublicKey: config.notify.webPush?.publicKey });
    },
    { prefix: '/api/v1' },
  );

  if (existsSync(WEB_ROOT)) {
    // One route per built file (no wildcard), so unknown paths reach the JSON not-found handler.
    await app.register(fastifyStatic, { root: WEB_ROOT, prefix: '/', decorateReply: false, wildcard: false });
  } else {
    app.log.warn('The web app is not built (npm run build); serving the API only.');
  }

  app.addHook('onClose', async () => {
    // The listener is closed and requests have ended; replies whose clients left may still be coming.
    const drainStarted = Date.now();
    await Promise.all([chat.drain(config.shutdown.timeoutMs), connections.drain(config.shutdown.timeoutMs)]);
    // Titles of the last replies are made within what is left of the same bound.
    await housekeeping.drain(config.shutdown.timeoutMs - (Date.now() - drainStarted));
    chat.close();
    await notifier.close?.();
    if (!deps.llm) await llm.close();
    if (!deps.coordination) await coordination.close();
    if (!deps.store) await store.close();
  });

  return { app, chat, personalities, connections, store, llm, housekeeping, stopAccepting: () => void (accepting = false) };
}
