/**
 * Replies in progress (and for a while after), so any client of the session can attach to one from
 * any instance: each streamed reply's events in order, numbered as its SSE `id:` lines are (deltas
 * 1, 2, 3…, then `done` or `error` with the next number).
 */

export type ReplyEventName = 'delta' | 'done' | 'error';

export interface ReplyEvent {
  id: number;
  event: ReplyEventName;
  data: unknown;
}

/** The producer's side of one reply: events go out in order; after `finish` nothing more. */
export interface ReplyWriter {
  delta(text: string): void;
  /** The last event (`done` or `error`); the reply is then kept for the TTL. */
  finish(event: 'done' | 'error', data: unknown): Promise<void>;
}

export interface ReplyLog {
  /** A new reply of the session (the one before it is no longer attachable). */
  begin(sessionId: string): ReplyWriter;
  /**
   * The session's reply in progress or kept: its events after `after`, then the live ones up to
   * the last. Null when there is none (never streamed, or finished longer than the TTL ago).
   * Stops early when `signal` aborts.
   */
  attach(sessionId: string, after: number, signal: AbortSignal): Promise<AsyncIterable<ReplyEvent> | null>;
  close(): void;
}
