import { Type, type Static } from 'typebox';
import { Timestamp, UserId } from './common.js';

const Kind = Type.Union([Type.Literal('webpush'), Type.Literal('fcm')], {
  description: 'webpush: a browser PushSubscription; fcm: a Firebase Cloud Messaging registration token',
});

const WebPushSubscription = Type.Object(
  {
    endpoint: Type.String({ minLength: 1, maxLength: 2048, description: 'The push service URL (https)' }),
    expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()], { description: 'Accepted and ignored' })),
    keys: Type.Object(
      {
        p256dh: Type.String({ minLength: 1, maxLength: 256 }),
        auth: Type.String({ minLength: 1, maxLength: 256 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: "The browser's PushSubscription.toJSON()" },
);

/**
 * One flat object rather than a union of the two kinds: the validator strips unknown properties, and
 * inside anyOf the first branch would strip the second kind's fields before that branch is tried.
 */
export const RegisterPushTargetBody = Type.Object(
  {
    user_id: Type.Optional(UserId),
    kind: Kind,
    subscription: Type.Optional(WebPushSubscription),
    token: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'The FCM registration token' })),
  },
  {
    additionalProperties: false,
    description: 'kind webpush needs `subscription`; kind fcm needs `token`',
    examples: [
      { kind: 'webpush', subscription: { endpoint: 'https://fcm.googleapis.com/fcm/send/abc', keys: { p256dh: 'BN…', auth: 'k8…' } } },
      { kind: 'fcm', token: 'dQw4w9WgXcQ:APA91b…' },
    ],
  },
);
export type RegisterPushTargetBody = Static<typeof RegisterPushTargetBody>;

export const PushTargetCreated = Type.Object({
  id: Type.String({ description: 'Stable for the same endpoint or token: registering again replaces it' }),
  user_id: Type.String(),
  kind: Kind,
  created_at: Timestamp,
});

export const PushTargetList = Type.Array(
  Type.Object({ id: Type.String(), kind: Kind, created_at: Timestamp }),
  { description: "The user's devices; endpoints and tokens are not shown again" },
);

export const PushUserQuery = Type.Object({ user_id: Type.Optional(UserId) });

export const PushTargetParams = Type.Object({ id: Type.String({ maxLength: 64, description: 'A device id from registering' }) });

export const PushTargetDeleted = Type.Object({ success: Type.Literal(true) });

export const VapidPublicKey = Type.Object({
  public_key: Type.Union([Type.String(), Type.Null()], {
    description: 'The applicationServerKey for PushManager.subscribe(); null when Web Push is not configured',
  }),
});
