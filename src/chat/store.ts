import type { NewMessage, Page, Personality, Session, StoredMessage, TokenUsage, UniversalRules } from './types.js';

/**
 * Everything the chat domain needs from durable storage. Each implementation (sqlite, postgres,
 * firebase) lives in src/store and passes the same contract tests.
 */
export interface Store {
  /** A short name for /ready and logs, e.g. "sqlite". */
  readonly kind: string;
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;

  createSession(session: Session): Promise<void>;
  getSession(id: string): Promise<Session | null>;
  /** A user's sessions, newest first. `cursor` comes from a previous page's `nextCursor`. */
  listSessions(userId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>>;
  /**
   * Sets a session's title; with `onlyIfUnset`, only while it has none, in one atomic step (a
   * generated title never overwrites a rename). False when nothing was written.
   */
  setTitle(id: string, title: string, onlyIfUnset: boolean): Promise<boolean>;
  /**
   * A user's sessions, newest first and paged like listSessions, whose title or one of whose
   * messages contains every one of `words` (lower case letters and digits) as the start of a word.
   * Firebase searches titles only.
   */
  searchSessions(userId: string, words: readonly string[], page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>>;
  /** Marks an active session ended; returns false when it was not active (missing or already ended). */
  endSession(id: string, endedAt: string): Promise<boolean>;

  /**
   * Appends one completed exchange atomically and counts it: all messages get the next sequence
   * numbers, `messageCount` grows by one, the reply's token usage is added to the session's, and
   * `lastActivity` is set. An idempotency key already used in the session makes it fail. Returns null, writing nothing,
   * when the session is not active, or when `expectedMessageCount` is given and the session has
   * moved on from it (the exchange was built on a stale view: a fencing check across instances).
   */
  appendExchange(
    sessionId: string,
    messages: readonly NewMessage[],
    lastActivity: string,
    expectedMessageCount?: number,
  ): Promise<{ messages: StoredMessage[]; messageCount: number } | null>;
  /**
   * The exchange whose user message carries this idempotency key: that message and its reply,
   * with the session's message count right after it. Null if there is none.
   */
  findExchange(sessionId: string, idempotencyKey: string): Promise<{ messages: StoredMessage[]; messageCount: number } | null>;
  /** Tokens used by all of a user's sessions, and how many sessions that is. */
  userUsage(userId: string): Promise<TokenUsage & { sessions: number }>;
  /** The newest `limit` messages with seq below `beforeSeq` (all when omitted), oldest first. */
  readMessages(sessionId: string, page: { limit: number; beforeSeq?: number | undefined }): Promise<StoredMessage[]>;

  listPersonalities(): Promise<Personality[]>;
  getPersonality(id: string): Promise<Personality | null>;
  /** Inserts a new personality; returns false when the id is taken. */
  insertPersonality(personality: Personality): Promise<boolean>;
  /** Replaces an existing personality; returns false when there is none with that id. */
  replacePersonality(personality: Personality): Promise<boolean>;
  deletePersonality(id: string): Promise<boolean>;
  incrementPersonalityUsage(id: string): Promise<void>;

  getUniversalRules(): Promise<UniversalRules | null>;
  putUniversalRules(rules: UniversalRules): Promise<void>;
}
