import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

/** Request latency and error codes into the registry, and GET /metrics out of it. */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): void {
  // Callback-style hooks: on every request, they spare a promise each.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    // Error bodies are small JSON with a stable code: count them by it.
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      const code = /"code":"([a-z_]+)"/.exec(payload)?.[1];
      if (code) metrics.errors.inc({ code });
    }
    done(null, payload);
  });
  // Prometheus scrapes this; keep it reachable from your network only (it is not behind sign-in).
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
