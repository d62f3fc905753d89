import { LRUCache } from 'lru-cache';
import type { ContextMessage } from './context-window.js';
import type { Store } from './store.js';
import type { Session, SessionSummary } from './types.js';
import { sessionEnded, sessionNotFound } from './session-rules.js';

/** A summary as a prompt uses it: counted once. */
export interface HeldSummary extends SessionSummary {
  tokens: number;
}

/** An active session held in memory: its record and the newest messages that may enter the context. */
export interface ActiveSession {
  session: Session;
  recent: ContextMessage[];
  /** The session's summary when it belongs to the active path (else null). */
  summary: HeldSummary | null;
  /**
   * Changes whenever the active path is replaced (a reload, a regenerate or edit), not when it
   * grows: work started on one path (a summary) may update memory only while it is still that path.
   */
  pathEpoch: number;
}

export interface ActiveSessionsOptions {
  maxSessions: number;
  idleTimeoutMs: number;
  /** Messages kept per session: as many as could ever enter the context. */
  maxMessages: number;
  /**
   * Other instances share the store: memory may be stale, so it is trusted only after the store
   * agrees (one primary-key read).
   */
  sharedStore: boolean;
  /** Whether a stored summary belongs to the path down to a leaf; summaries are off without it. */
  summaryBelongs?: ((sessionId: string, summary: SessionSummary, leafSeq: number | null) => Promise<boolean>) | undefined;
  countTokens: (text: string) => number;
}

let epochs = 0;
const toContext = ({ role, content, tokens, seq, parentSeq }: ContextMessage): ContextMessage => ({ role, content, tokens, seq, parentSeq });
const sameSummary = (a: SessionSummary | null, b: SessionSummary | null) => a?.throughSeq === b?.throughSeq && a?.text === b?.text;

/**
 * The sessions this instance holds in memory, bounded in number and evicted when idle, so a send does
 * not read the conversation back from the store each time.
 */
export class ActiveSessions {
  readonly #cache: LRUCache<string, ActiveSession>;
  readonly #purgeTimer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly options: ActiveSessionsOptions,
  ) {
    this.#cache = new LRUCache({ max: options.maxSessions, ttl: options.idleTimeoutMs, updateAgeOnGet: true });
    // Expired entries go lazily; sweep now and then so idle sessions really leave memory.
    this.#purgeTimer = setInterval(() => this.#cache.purgeStale(), Math.min(60_000, Math.max(1000, options.idleTimeoutMs)));
    this.#purgeTimer.unref();
  }

  get size(): number {
    return this.#cache.size;
  }

  /** A session just created: nothing said yet. */
  add(session: Session): void {
    this.#cache.set(session.id, { session, recent: [], summary: null, pathEpoch: ++epochs });
  }

  /** Memory no longer knows the session's state (ended, or a write whose outcome is unknown). */
  forget(sessionId: string): void {
    this.#cache.delete(sessionId);
  }

  /** The record held in memory, possibly stale: for who owns a session, never for its state. */
  peek(sessionId: string): Session | undefined {
    return this.#cache.get(sessionId)?.session;
  }

  /** The session's record: from memory when this instance is the only one, else from the store. */
  async current(sessionId: string): Promise<Session | null> {
    const cached = this.options.sharedStore ? undefined : this.#cache.get(sessionId)?.session;
    return cached ?? this.store.getSession(sessionId);
  }

  /**
   * The session from memory, or from the store (after eviction or a restart). With a shared store
   * the memory is only trusted if the store agrees it is current. Ended ones are refused.
   */
  async load(sessionId: string): Promise<ActiveSession> {
    const cached = this.#cache.get(sessionId);
    if (cached && !this.options.sharedStore) return cached;
    const session = await this.store.getSession(sessionId);
    if (!session) throw sessionNotFound();
    if (session.status !== 'active') {
      this.#cache.delete(sessionId);
      throw sessionEnded();
    }
    // Every append and select moves the active leaf: the same leaf means the same conversation.
    if (cached && cached.session.activeSeq === session.activeSeq) {
      // Another instance may have summarised meanwhile.
      if (!sameSummary(cached.session.summary, session.summary)) cached.summary = await this.#held(session);
      cached.session = session;
      return cached;
    }
    const [recent, summary] = await Promise.all([this.store.readMessages(sessionId, { limit: this.options.maxMessages }), this.#held(session)]);
    const active: ActiveSession = { session, recent: recent.map(toContext), summary, pathEpoch: ++epochs };
    this.#cache.set(sessionId, active);
    return active;
  }

  /** Adds stored messages, keeping only as many as could enter the context: memory stays flat. */
  remember(active: ActiveSession, ...messages: ContextMessage[]): void {
    for (const m of messages) active.recent.push(toContext(m));
    const excess = active.recent.length - this.options.maxMessages;
    if (excess > 0) active.recent.splice(0, excess);
  }

  /** The path was replaced by `recent` (a regenerate or edit), with the summary that still belongs to it. */
  replacePath(active: ActiveSession, recent: readonly ContextMessage[], summary: HeldSummary | null): void {
    active.recent = recent.map(toContext);
    active.summary = summary;
    active.pathEpoch = ++epochs;
  }

  /** A summary just stored for the path it was made on: memory takes it if that is still the path held. */
  summaryStored(sessionId: string, summary: SessionSummary, pathEpoch: number): void {
    const cached = this.#cache.get(sessionId);
    if (!cached || cached.pathEpoch !== pathEpoch) return;
    cached.session.summary = summary;
    cached.summary = this.#counted(summary);
  }

  close(): void {
    clearInterval(this.#purgeTimer);
    this.#cache.clear();
  }

  async #held(session: Session): Promise<HeldSummary | null> {
    const { summary } = session;
    if (!summary || !this.options.summaryBelongs || !(await this.options.summaryBelongs(session.id, summary, session.activeSeq))) return null;
    return this.#counted(summary);
  }

  #counted(summary: SessionSummary): HeldSummary {
    return { ...summary, tokens: this.options.countTokens(summary.text) };
  }
}
