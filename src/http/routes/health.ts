import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Store } from '../../chat/store.js';
import { errors } from '../schemas/common.js';
import { sendError } from '../error-handler.js';

export interface HealthRoutesOptions {
  store: Store;
  coordination: { kind: string; ping(): Promise<void> };
  provider: string;
  /** False once shutdown has begun, so load balancers stop sending traffic first. */
  accepting: () => boolean;
}

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, { store, coordination, provider, accepting }) => {
  const tags = ['health'];

  app.get('/health', {
    schema: { tags, summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/ready', {
    schema: {
      tags,
      summary: 'The store answers and the server takes requests',
      response: {
        200: Type.Object({
          status: Type.Literal('ready'),
          store: Type.String(),
          provider: Type.String(),
          coordination: Type.String({ description: 'local (one instance) or redis (many)' }),
        }),
        ...errors(503),
      },
    },
    handler: async (request, reply) => {
      if (!accepting()) return sendError(reply, 503, 'shutting_down', 'This instance is shutting down.');
      try {
        await store.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'store ping failed');
        return sendError(reply, 503, 'store_unavailable', 'The database does not answer; retry shortly.');
      }
      try {
        await coordination.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'coordination ping failed');
        return sendError(reply, 503, 'coordination_unavailable', 'Redis does not answer; retry shortly.');
      }
      return { status: 'ready' as const, store: store.kind, provider, coordination: coordination.kind };
    },
  });
};
