import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Everything /metrics exposes, in one registry per app (tests build many apps in one process). */
export class Metrics {
  readonly registry = new Registry();

  readonly requestDuration = new Histogram({
    name: 'chatify_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'chatify_errors_total',
    help: 'Error answers by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly modelDuration = new Histogram({
    name: 'chatify_model_duration_seconds',
    help: 'Model call latency, by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });

  readonly modelFirstToken = new Histogram({
    name: 'chatify_model_first_token_seconds',
    help: 'Time to the first streamed piece of a reply',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: 'chatify_model_tokens_total',
    help: 'Tokens the model reported using, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly housekeeping = new Histogram({
    name: 'chatify_housekeeping_job_seconds',
    help: 'Housekeeping jobs (titles) by kind and outcome (ok, failed, dropped), with how long they took',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });

  readonly liveSockets = new Gauge({
    name: 'chatify_live_sockets',
    help: 'Live WebSockets (user-to-user chat) open on this instance',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'chatify_process_' });
  }

  /** Reports, at each scrape, how many sessions this instance holds in memory. */
  watchActiveSessions(count: () => number): void {
    new Gauge({
      name: 'chatify_active_sessions',
      help: 'Sessions held in memory by this instance',
      registers: [this.registry],
      collect() {
        this.set(count());
      },
    });
  }

  /** Reports, at each scrape, how many housekeeping jobs wait or run. */
  watchHousekeeping(size: () => number): void {
    new Gauge({
      name: 'chatify_housekeeping_jobs',
      help: 'Housekeeping jobs (titles) waiting or running on this instance',
      registers: [this.registry],
      collect() {
        this.set(size());
      },
    });
  }
}
