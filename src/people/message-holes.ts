import type { ConnectionMessage } from './types.js';

/**
 * How long a missing seq may be a write still under way. A store that takes a message's seq and
 * writes it in two steps (Firebase) can show a later message first; one written longer ago than
 * this after a hole means the hole's write was lost (a crash between the two steps).
 */
export const HOLE_GRACE_MS = 10_000;

/**
 * The messages after `after` that can be handed out without skipping one that may still appear:
 * the run of consecutive seqs, continuing past a hole only when the message after it is older
 * than HOLE_GRACE_MS. `waiting` is true when it stopped at a hole that may still fill.
 */
export function consecutiveMessages(
  page: readonly ConnectionMessage[],
  after: number,
  now: number,
): { messages: ConnectionMessage[]; waiting: boolean } {
  const messages: ConnectionMessage[] = [];
  let expected = after + 1;
  for (const message of page) {
    if (message.seq < expected) continue;
    if (message.seq > expected && now - Date.parse(message.timestamp) < HOLE_GRACE_MS) return { messages, waiting: true };
    messages.push(message);
    expected = message.seq + 1;
  }
  return { messages, waiting: false };
}
