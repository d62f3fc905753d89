import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** What one request log line says: never bodies, so never message text. */
export function requestLogFields(request: FastifyRequest, status: number, ms: number) {
  return { method: request.method, url: request.url.split('?')[0], status, ms: Math.round(ms * 100) / 100 };
}

/**
 * One line per request (method, path, status, time) instead of Fastify's two ("incoming request"
 * and "request completed"): the same information at half the cost on the hot path.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = requestLogFields(request, reply.statusCode, reply.elapsedTime);
    if (error) request.log.error({ ...fields, err: error }, 'request failed');
    else request.log.info(fields, 'request');
  }
}
