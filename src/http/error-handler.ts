import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChatError, type ChatErrorCode } from '../chat/errors.js';

const STATUS_OF: Record<ChatErrorCode, number> = {
  session_not_found: 404,
  connection_not_found: 404,
  connection_ended: 409,
  same_user: 422,
  invalid_read_position: 422,
  too_many_sockets: 429,
  rate_limited: 429,
  invalid_push_target: 422,
  push_target_not_found: 404,
  template_not_found: 404,
  personality_not_found: 404,
  session_ended: 409,
  message_not_found: 404,
  memory_not_found: 404,
  invalid_message_target: 422,
  invalid_import: 422,
  personality_exists: 409,
  personality_protected: 409,
  invalid_name: 422,
  nothing_to_change: 422,
  message_too_long: 422,
  invalid_text: 422,
  invalid_cursor: 422,
  invalid_title: 422,
  invalid_query: 422,
  idempotency_key_reused: 422,
  invalid_idempotency_key: 422,
  session_conflict: 409,
  user_mismatch: 403,
  user_required: 422,
  store_unavailable: 503,
  coordination_unavailable: 503,
  provider_unavailable: 503,
  provider_error: 502,
  provider_timeout: 504,
  model_refused: 422,
};

/** Fastify's own errors that are the client's doing, as our codes. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', message: 'The request body is too large.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json', message: 'The JSON body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'invalid_json',
    message: 'The body is not valid JSON, or uses a forbidden key such as __proto__.',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request', message: 'Content-Length does not match the body.' },
};

/**
 * `detail` repeats the message where FastAPI puts it, so clients written for the original service
 * (which show `response.data.detail`) show ours.
 */
export function errorBody(code: string, message: string) {
  return { success: false as const, error: { code, message }, detail: message };
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send(errorBody(code, message));
}

/** The `{code, message}` of a failure inside a stream, where the status is already sent. */
export function streamErrorOf(error: unknown, log: FastifyRequest['log']): { code: string; message: string } {
  if (error instanceof ChatError) return { code: error.code, message: error.message };
  log.error({ err: error }, 'unexpected error in stream');
  return { code: 'internal_error', message: 'Something went wrong on our side. Please try again.' };
}

/** One place turns every failure into `{success:false, error:{code, message}}` with a fitting status. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ChatError) {
      const status = STATUS_OF[error.code];
      if (status >= 500) request.log.warn({ code: error.code, cause: describeCause(error.cause) }, 'request failed');
      if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
      return sendError(reply, status, error.code, error.message);
    }
    if (error.validation) {
      return sendError(reply, 422, 'validation_error', validationMessage(error));
    }
    const known = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (known) return sendError(reply, known.status, known.code, known.message);
    if (error instanceof SyntaxError || /prototype property/i.test(error.message)) {
      return sendError(reply, 400, 'invalid_json', 'The body is not valid JSON, or uses a forbidden key such as __proto__.');
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendError(reply, status, 'bad_request', error.message);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendError(reply, 500, 'internal_error', 'Something went wrong on our side. Please try again.');
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, notFoundCode(request.url), `There is no ${request.method} ${request.url.split('?')[0]}.`),
  );
}

/** What failed validation, in a sentence: where, and what was wrong. */
export function validationMessage(error: Pick<FastifyError, 'validation' | 'validationContext' | 'message'>): string {
  const first = error.validation?.[0];
  if (!first) return error.message;
  const where = `${error.validationContext ?? 'request'}${first.instancePath.replaceAll('/', '.')}`;
  const missing = first.params?.['missingProperty'];
  if (typeof missing === 'string') return `${where}.${missing} is required.`;
  if (first.keyword === 'pattern') return `${where} has characters or a length that is not allowed.`;
  return `${where} ${first.message ?? 'is invalid'}.`;
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : undefined;
}

/** Under a session URL, anything not found is an unknown session (ids too long to route included). */
function notFoundCode(url: string): string {
  return url.startsWith('/api/v1/chatbot/session/') ? 'session_not_found' : 'not_found';
}

/**
 * Errors the router raises before any route runs. A path parameter longer than any id we issue
 * names nothing that exists: that is a 404, like any other unknown id.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const code = notFoundCode(request.url);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH' || code === 'session_not_found') {
    // Too long to route, or not decodable: either way no session has that id.
    void sendError(reply, 404, code, 'There is no such resource.');
    return;
  }
  void sendError(reply, 400, 'bad_request', 'The request URL is malformed.');
}

/** Requests so broken that HTTP parsing fails (bad Content-Length, bad headers), or too slow: still our error shape. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // Closed in every case: a client that keeps trickling bytes after its timeout must not keep the socket.
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'The request did not arrive in time.']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'bad_request', 'The request could not be parsed as HTTP.']
        : [400, 'Bad Request', 'bad_request', 'The request could not be parsed as HTTP.'];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
