import { LRUCache } from 'lru-cache';
import type { ContextMessage } from './context-window.js';
import type { Store } from './store.js';
import type { NewMessage, Session } from './types.js';
import { sessionEnded, sessionNotFound } from './session-rules.js';

/** An active session held in memory: its record and the newest messages that may enter the context. */
export interface ActiveSession {
  session: Session;
  recent: ContextMessage[];
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
}

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
    this.#cache.set(session.id, { session, recent: [] });
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
      cached.session = session;
      return cached;
    }
    const recent = await this.store.readMessages(sessionId, { limit: this.options.maxMessages });
    const active: ActiveSession = { session, recent: recent.map(({ role, content, tokens }) => ({ role, content, tokens })) };
    this.#cache.set(sessionId, active);
    return active;
  }

  /** Adds a stored exchange, keeping only as many messages as could enter the context: memory stays flat. */
  remember(active: ActiveSession, ...messages: NewMessage[]): void {
    for (const { role, content, tokens } of messages) active.recent.push({ role, content, tokens });
    const excess = active.recent.length - this.options.maxMessages;
    if (excess > 0) active.recent.splice(0, excess);
  }

  close(): void {
    clearInterval(this.#purgeTimer);
    this.#cache.clear();
  }
}
