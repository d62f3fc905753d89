import type { ServerOptions } from 'node:http';
import type { Config } from '../config.js';

/**
 * Fastify options that cut slow and idle clients off, so sockets that trickle their headers or body,
 * or open and send nothing, cannot use up the process's file descriptors. The request timeout covers
 * receiving a request only: a streamed reply or a WebSocket, once its request is read, is not cut.
 */
export function serverTimeouts(http: Config['http']): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
} {
  return {
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http: {
      headersTimeout: http.headersTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      // Node checks the headers and request timeouts on this interval (30 s by default), so a
      // timeout would otherwise take up to 30 s longer than configured.
      connectionsCheckingInterval: Math.min(1000, http.headersTimeoutMs),
    },
  };
}
