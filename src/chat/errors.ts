/**
 * The one error type of the domain. Its code is part of the public API (the HTTP layer maps each code
 * to a status); its message is written for the person who has to act on it.
 */
export type ChatErrorCode =
  | 'session_not_found'
  | 'connection_not_found'
  | 'connection_ended'
  | 'same_user'
  | 'invalid_read_position'
  | 'too_many_sockets'
  | 'rate_limited'
  | 'invalid_push_target'
  | 'push_target_not_found'
  | 'session_ended'
  | 'message_not_found'
  | 'memory_not_found'
  | 'invalid_message_target'
  | 'invalid_import'
  | 'template_not_found'
  | 'personality_not_found'
  | 'personality_exists'
  | 'personality_protected'
  | 'invalid_name'
  | 'nothing_to_change'
  | 'message_too_long'
  | 'invalid_text'
  | 'invalid_cursor'
  | 'invalid_title'
  | 'invalid_query'
  | 'idempotency_key_reused'
  | 'invalid_idempotency_key'
  | 'session_conflict'
  | 'user_mismatch'
  | 'user_required'
  | 'store_unavailable'
  | 'coordination_unavailable'
  | 'provider_unavailable'
  | 'provider_error'
  | 'provider_timeout'
  | 'model_refused';

export class ChatError extends Error {
  override readonly name = 'ChatError';
  /** When trying again makes sense only after a while (503 provider_unavailable). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ChatErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}
