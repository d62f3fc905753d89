import type { FastifyRequest } from 'fastify';
import { ChatError } from '../chat/errors.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, checked: printable ASCII without spaces, at most 255 characters. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new ChatError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable characters without spaces.');
  }
  return key;
}
