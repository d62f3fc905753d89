import type { FastifyInstance } from 'fastify';
import { sendError } from './error-handler.js';

/**
 * Requests that Node or @fastify/cors would refuse with a bare answer (an empty or plain-text 400)
 * are refused here first, with the status they would get and the error body every error has.
 * Register before @fastify/cors; the server must be created with `requireHostHeader: false`.
 */
export function registerBareRefusals(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    // HTTP/1.1 requires a Host header (RFC 9112, section 3.2).
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return sendError(reply, 400, 'bad_request', 'An HTTP/1.1 request needs a Host header.');
    }
    // What @fastify/cors (strictPreflight) answers with "Invalid Preflight Request" in plain text.
    if (request.method === 'OPTIONS' && (!request.headers.origin || !request.headers['access-control-request-method'])) {
      return sendError(reply, 400, 'bad_request', 'OPTIONS is only answered as a CORS preflight: send Origin and Access-Control-Request-Method.');
    }
  });
}
