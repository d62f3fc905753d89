import type { Session, StoredMessage } from './types.js';

export interface ExchangeResult {
  session: Session;
  reply: string;
  messages: StoredMessage[];
  /** Completed exchanges right after this one. */
  messageCount: number;
  /** The answer of an earlier request with the same idempotency key, not a new model call. */
  replayed: boolean;
  /** Where the time went (new exchanges only). */
  timings?: ExchangeTimings;
}

/** Where one exchange's time went, in milliseconds, for operators (Server-Timing) and the benchmark. */
export interface ExchangeTimings {
  /** From the send to the model call: earlier sends of the session, loading it, building the context. */
  prepareMs: number;
  /** The model call as this service sees it: the model's own time plus the way there and back. */
  modelMs: number;
  /** Writing the question and the answer durably. */
  storeMs: number;
}

export interface SessionView {
  session: Session;
  /** The active path's page, oldest first. */
  messages: StoredMessage[];
  /** The seqs of the children of each message's parent (null: the first messages), oldest first. */
  siblings: ReadonlyMap<number | null, readonly number[]>;
  hasMore: boolean;
  /** The rolling summary of the active path's start, when it has one. */
  summary: string | null;
}

/** Who is asking: with sign-in on, a session is only visible to its owner (to others it does not exist). */
export interface Caller {
  /** The signed-in user; undefined when the server trusts the client's user_id (no sign-in, API keys). */
  userId?: string | undefined;
  /** When the sign-in ends (ms since the epoch), for what outlives a request: live sockets close then. */
  expiresAt?: number | undefined;
}

export interface SendOptions {
  caller?: Caller;
  /** A client's key for this send: retries with it get the same reply, never a second model call. */
  idempotencyKey?: string | undefined;
  /** When given, the reply is also passed on piece by piece as the model produces it. */
  onDelta?: (text: string) => void;
}

export interface EndResult {
  session: Session;
  durationSeconds: number;
}
