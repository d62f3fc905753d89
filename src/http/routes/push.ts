import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ChatError } from '../../chat/errors.js';
import type { PushTargetService } from '../../people/push-targets.js';
import type { PushTarget } from '../../people/types.js';
import { userOf } from '../auth.js';
import { errors } from '../schemas/common.js';
import {
  PushTargetCreated,
  PushTargetDeleted,
  PushTargetList,
  PushTargetParams,
  PushUserQuery,
  RegisterPushTargetBody,
  VapidPublicKey,
} from '../schemas/push.js';

export interface PushRoutesOptions {
  pushTargets: PushTargetService;
  /** VAPID_PUBLIC_KEY: browsers subscribe with it; undefined when Web Push is off. */
  vapidPublicKey: string | undefined;
}

const tags = ['people'];

/** The devices a user is notified on when a message arrives while they have no live connection. */
export const pushRoutes: FastifyPluginAsyncTypebox<PushRoutesOptions> = async (app, { pushTargets, vapidPublicKey }) => {
  app.post('/push/subscriptions', {
    schema: {
      tags,
      summary: 'Register a device for notifications (a browser push subscription or an FCM token)',
      description: 'Registering the same endpoint or token again replaces the earlier registration and keeps its id.',
      body: RegisterPushTargetBody,
      response: { 201: PushTargetCreated, ...errors(401, 403, 413, 422) },
    },
    handler: async (request, reply) => {
      const userId = userOf(request, request.body.user_id);
      const stored = await pushTargets.register(userId, pushTargetOf(request.body));
      return reply.code(201).send({ id: stored.id, user_id: stored.userId, kind: stored.target.kind, created_at: stored.createdAt });
    },
  });

  app.get('/push/subscriptions', {
    schema: {
      tags,
      summary: "The user's registered devices",
      querystring: PushUserQuery,
      response: { 200: PushTargetList, ...errors(401, 403, 422) },
    },
    handler: async (request) => {
      const userId = userOf(request, request.query.user_id);
      const targets = await pushTargets.list(userId);
      return targets.map((t) => ({ id: t.id, kind: t.target.kind, created_at: t.createdAt }));
    },
  });

  app.delete('/push/subscriptions/:id', {
    schema: {
      tags,
      summary: 'Stop notifying a device',
      params: PushTargetParams,
      querystring: PushUserQuery,
      response: { 200: PushTargetDeleted, ...errors(401, 403, 404, 422) },
    },
    handler: async (request) => {
      const userId = userOf(request, request.query.user_id);
      if (!(await pushTargets.remove(userId, request.params.id))) {
        throw new ChatError('push_target_not_found', 'This user has no device with that id; it may have been removed already.');
      }
      return { success: true as const };
    },
  });

  app.get('/push/vapid-public-key', {
    schema: {
      tags,
      summary: 'The VAPID public key browsers subscribe with',
      response: { 200: VapidPublicKey },
    },
    handler: async () => ({ public_key: vapidPublicKey ?? null }),
  });
};

/** The body as a domain target: the field its kind needs must be there. */
function pushTargetOf(body: RegisterPushTargetBody): PushTarget {
  if (body.kind === 'webpush') {
    if (!body.subscription) throw new ChatError('invalid_push_target', 'kind webpush needs `subscription` (the browser PushSubscription).');
    const { endpoint, keys } = body.subscription;
    return { kind: 'webpush', subscription: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } } };
  }
  if (body.token === undefined) throw new ChatError('invalid_push_target', 'kind fcm needs `token` (the FCM registration token).');
  return { kind: 'fcm', token: body.token };
}
