import type { NewMessage, Page, Personality, Session, SessionSummary, StoredMessage, TokenUsage, UniversalRules } from './types.js';

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
  /**
   * Creates a session with a whole tree at once (an import), atomically: message i of `messages` has
   * seq i + 1 and a parentSeq naming an earlier one or null; the session's activeSeq and
   * messageCount name its active leaf and the exchanges on the path down to it.
   */
  importSession(session: Session, messages: readonly StoredMessage[]): Promise<void>;
  /** Stores a session's rolling summary (replacing the one it had); false when there is no such session. */
  setSummary(sessionId: string, summary: SessionSummary): Promise<boolean>;
  /** Marks an active session ended; returns false when it was not active (missing or already ended). */
  endSession(id: string, endedAt: string): Promise<boolean>;

  /**
   * Appends messages atomically, as a chain: the first follows `parentSeq` (default: the session's
   * active leaf, so the conversation goes on; null: a new first message), each next one the one before
   * it. They get the next sequence numbers, the last becomes the active leaf, `messageCount` becomes
   * the number of exchanges (user messages) on the new active path, the replies' token usage is added
   * to the session's, and `lastActivity` is set. A regenerated reply is one message whose parent is a
   * user message; an edit is a user message and its reply whose parent is the edited message's parent.
   * An idempotency key (on the first message) already used in the session makes it fail. Returns null,
   * writing nothing, when the session is not active, when `parentSeq` names no message of the session,
   * or when `expectedLeaf` is given and the session's active leaf is no longer it (null: no message
   * yet): the exchange was built on a stale view, a fencing check across instances.
   */
  appendExchange(
    sessionId: string,
    messages: readonly NewMessage[],
    lastActivity: string,
    expectedLeaf?: number | null,
    parentSeq?: number | null,
  ): Promise<{ messages: StoredMessage[]; messageCount: number } | null>;
  /**
   * The messages appended together with the one carrying this idempotency key (a user message and its
   * reply, or a regenerated reply alone), with the session's message count right after. Null if none.
   */
  findExchange(sessionId: string, idempotencyKey: string): Promise<{ messages: StoredMessage[]; messageCount: number } | null>;
  /** Tokens used by all of a user's sessions (replies, and housekeeping apart), and how many sessions that is. */
  userUsage(userId: string): Promise<TokenUsage & { sessions: number; memoryTokens: number }>;
  /** Adds what a housekeeping call used to a session's count. */
  addMemoryTokens(sessionId: string, tokens: number): Promise<void>;
  /**
   * A page of a path of the session's tree, oldest first: the newest `limit` messages with seq below
   * `beforeSeq` (all when omitted) on the path from the first message down to `leafSeq` (default: the
   * active leaf). The cost is that of the page, not of the tree.
   */
  readMessages(
    sessionId: string,
    page: { limit: number; beforeSeq?: number | undefined; leafSeq?: number | undefined },
  ): Promise<StoredMessage[]>;
  /** The seqs of the children of each given parent (null: the first messages), oldest first; [] for none. */
  childrenOf(sessionId: string, parentSeqs: readonly (number | null)[]): Promise<Map<number | null, number[]>>;
  /**
   * Makes the path through message `seq` active, continuing below it along the newest child at each
   * step, and sets `messageCount` to the exchanges on it. The session as it is then, or null when the
   * session is not active or has no such message (nothing changes).
   */
  selectMessage(sessionId: string, seq: number): Promise<Session | null>;
  /** Every message of the session's tree with seq above `afterSeq`, in seq order, at most `limit`. */
  readTree(sessionId: string, page: { limit: number; afterSeq?: number | undefined }): Promise<StoredMessage[]>;

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
