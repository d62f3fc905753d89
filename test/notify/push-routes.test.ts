import type { AddressInfo } from 'node:net';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuth } from '../../src/http/auth.js';
import { registerErrorHandling } from '../../src/http/error-handler.js';
import { pushRoutes } from '../../src/http/routes/push.js';
import { ErrorBody } from '../../src/http/schemas/common.js';
import { registerValidation } from '../../src/http/validation.js';
import { PushTargetService } from '../../src/people/push-targets.js';
import type { StoredPushTarget } from '../../src/people/types.js';

/**
 * The push routes on a bare Fastify with the app's validation, errors and (AUTH_MODE=none) sign-in,
 * until app.ts registers them; then these belong with the other API tests.
 */
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const rows = new Map<string, StoredPushTarget>();
  const store = {
    putPushTarget: async (t: StoredPushTarget) => void rows.set(`${t.userId}/${t.id}`, t),
    listPushTargets: async (userId: string) => [...rows.values()].filter((t) => t.userId === userId),
    removePushTarget: async (userId: string, id: string) => rows.delete(`${userId}/${id}`),
  };
  const server = Fastify().withTypeProvider<TypeBoxTypeProvider>();
  registerValidation(server);
  registerErrorHandling(server);
  server.addSchema(ErrorBody);
  await server.register(
    async (api) => {
      registerAuth(api, { mode: 'none', apiKeys: [], jwt: {} });
      await api.register(pushRoutes, {
        pushTargets: new PushTargetService({
          store,
          now: () => new Date('2026-03-01T12:00:00.000Z'),
          allowedHosts: ['push.example', '127.0.0.1'],
        }),
        vapidPublicKey: 'BPublicKey',
      });
    },
    { prefix: '/api/v1' },
  );
  await server.listen({ port: 0, host: '127.0.0.1' });
  app = server;
  base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}/api/v1`;
});

afterAll(() => app.close());

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(base + path, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & { error?: { code: string } } };
}

const subscription = {
  endpoint: 'https://push.example/abc',
  expirationTime: null,
  keys: { p256dh: 'BNcR-key', auth: 'tBHI-auth' },
};

describe('push routes', () => {
  it('registers, lists and removes devices', async () => {
    const web = await call('POST', '/push/subscriptions', { user_id: 'bob', kind: 'webpush', subscription });
    expect(web.status).toBe(201);
    expect(web.body).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), user_id: 'bob', kind: 'webpush', created_at: '2026-03-01T12:00:00.000Z' });
    const fcm = await call('POST', '/push/subscriptions', { user_id: 'bob', kind: 'fcm', token: 'tok-1' });
    expect(fcm.status).toBe(201);
    expect(fcm.body).toMatchObject({ kind: 'fcm', user_id: 'bob' });

    const list = await call('GET', '/push/subscriptions?user_id=bob');
    expect(list.status).toBe(200);
    expect(list.body).toEqual(
      expect.arrayContaining([
        { id: web.body['id'], kind: 'webpush', created_at: '2026-03-01T12:00:00.000Z' },
        { id: fcm.body['id'], kind: 'fcm', created_at: '2026-03-01T12:00:00.000Z' },
      ]),
    );

    expect(await call('DELETE', `/push/subscriptions/${String(web.body['id'])}?user_id=carol`)).toMatchObject({
      status: 404,
      body: { error: { code: 'push_target_not_found' } },
    });
    expect(await call('DELETE', `/push/subscriptions/${String(web.body['id'])}?user_id=bob`)).toEqual({ status: 200, body: { success: true } });
    expect(await call('DELETE', `/push/subscriptions/${String(web.body['id'])}?user_id=bob`)).toMatchObject({ status: 404 });
    expect((await call('GET', '/push/subscriptions?user_id=bob')).body).toHaveLength(1);
  });

  it.each([
    [{ user_id: 'bob', kind: 'webpush', token: 'tok' }, 'invalid_push_target'],
    [{ user_id: 'bob', kind: 'fcm', subscription }, 'invalid_push_target'],
    [{ user_id: 'bob', kind: 'webpush', subscription: { ...subscription, endpoint: 'http://push.example/x' } }, 'invalid_push_target'],
    [{ user_id: 'bob', kind: 'fcm', token: '' }, 'validation_error'],
    [{ user_id: 'bob', kind: 'sms', token: 'x' }, 'validation_error'],
    [{ kind: 'fcm', token: 'x' }, 'user_required'],
  ])('refuses %j with 422 %s', async (body, code) => {
    const response = await call('POST', '/push/subscriptions', body);
    expect(response.status).toBe(422);
    expect(response.body.error?.code).toBe(code);
  });

  it('tells browsers the VAPID public key', async () => {
    expect(await call('GET', '/push/vapid-public-key')).toEqual({ status: 200, body: { public_key: 'BPublicKey' } });
  });
});
