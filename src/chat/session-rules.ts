import { ChatError } from './errors.js';
import { LlmError } from './llm.js';
import type { Caller } from './session-types.js';
import type { Session } from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The session if the caller may see it; someone else's session is treated as missing (404, not 403). */
export function visibleTo(caller: Caller, session: Session | null): Session | null {
  return session && (caller.userId === undefined || session.userId === caller.userId) ? session : null;
}

/** The ids Chatify issues (sessions, connections) are UUIDs: anything else names nothing. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** Session ids are UUIDs: anything else names no session. */
export const isSessionId = isUuid;

export function assertSessionId(id: string): void {
  if (!UUID.test(id)) throw sessionNotFound();
}

export function sessionNotFound(): ChatError {
  return new ChatError('session_not_found', 'There is no such session. Start a new one.');
}

export function sessionEnded(): ChatError {
  return new ChatError('session_ended', 'This session has ended. Start a new one to keep chatting.');
}

/** The same Idempotency-Key came with another text: a client bug, never answered with the first reply. */
export function idempotencyKeyReused(): ChatError {
  return new ChatError('idempotency_key_reused', 'This Idempotency-Key was already used for a different message; use a new key.');
}

export function toChatError(error: unknown): ChatError {
  if (error instanceof LlmError && error.failure === 'circuit_open') {
    const message = 'The model is failing right now, so calls are paused briefly. Please try again in a little while.';
    const retryAfterSeconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1000) / 1000));
    return new ChatError('provider_unavailable', message, { cause: error, retryAfterSeconds });
  }
  if (error instanceof LlmError && error.failure === 'timeout') {
    return new ChatError('provider_timeout', 'The model did not answer in time. Please try again.', { cause: error });
  }
  if (error instanceof LlmError && error.failure === 'refused') {
    return new ChatError('model_refused', `The model refused this request: ${error.message}`, { cause: error });
  }
  const detail = error instanceof LlmError ? error.message : 'unexpected failure';
  return new ChatError('provider_error', `The model service failed (${detail}). Please try again.`, { cause: error });
}
