import { ChatError } from '../chat/errors.js';

/**
 * What each store hands out as a session list's next_cursor, and its check of a cursor it is given
 * back. The HTTP schema lets through every store's shape; the store refuses one that is not its own
 * with a 422, so a cursor from another deployment (or a made-up one) never reaches a query.
 */

const invalidCursor = () => new ChatError('invalid_cursor', 'cursor must be the next_cursor of a previous page of this list.');

const MAX_SEQ = 2n ** 63n - 1n;

/** SQLite and PostgreSQL: the seq of the page's last session, a positive 64-bit integer. */
export function seqCursor(cursor: string): string {
  if (!/^[0-9]{1,19}$/.test(cursor) || BigInt(cursor) > MAX_SEQ) throw invalidCursor();
  return cursor;
}

/** Firebase: the push key of the page's last session in the user's index (20 characters). */
export function pushKeyCursor(cursor: string): string {
  if (!/^[-0-9A-Za-z_]{20}$/.test(cursor)) throw invalidCursor();
  return cursor;
}
