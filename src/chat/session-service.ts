import { ActiveSessions, type ActiveSessionsOptions } from './active-sessions.js';
import type { ContextLimits } from './context-window.js';
import { ChatError } from './errors.js';
import { Exchanges, type ExchangesDeps } from './exchanges.js';
import type { Llm } from './llm.js';
import type { PersonalityService } from './personality-service.js';
import { LocalSessionLock, type SessionLock } from './session-lock.js';
import type { Store } from './store.js';
import type { TokenCounter } from './token-count.js';
import type { Session, SessionSummary, StoredMessage } from './types.js';
import { checkMessageText } from './message-text.js';
import { assertSessionId, isSessionId, sessionEnded, sessionNotFound, toChatError, visibleTo } from './session-rules.js';
import type { Caller, EndResult, ExchangeResult, ExchangeTimings, SendOptions, SessionView } from './session-types.js';
import { checkTarget, messageNotFound, turnText, type Turn } from './turns.js';

export type { Caller, EndResult, ExchangeResult, ExchangeTimings, SendOptions, SessionView };

export interface ChatServiceOptions {
  context: ContextLimits;
  maxMessageLength: number;
  /** Bounds of the in-memory cache of active sessions. */
  cache: { maxSessions: number; idleTimeoutMs: number };
  /**
   * Other instances share the store: memory may be stale, so every exchange checks the session in
   * the store (one primary-key read) before trusting what it holds.
   */
  sharedStore?: boolean;
}

interface Deps {
  store: Store;
  llm: Llm;
  personalities: PersonalityService;
  countTokens: TokenCounter;
  now: () => Date;
  newId: () => string;
  /** Defaults to an in-process lock (one instance). */
  lock?: SessionLock;
  /** Told about every stored exchange (titles, summaries, memories); must return at once and never throw. */
  afterExchange?: ExchangesDeps['afterExchange'];
  /** Told when a session has ended (to learn from it); must return at once and never throw. */
  afterEnd?: ((session: Session) => void) | undefined;
  /** What the personality remembers about the user, for the prompt. */
  recall?: ExchangesDeps['recall'];
  /** Whether a stored summary belongs to a path; rolling summaries are off without it. */
  summaryBelongs?: ActiveSessionsOptions['summaryBelongs'];
}

/**
 * Conversations between a user and a personality: the seed's create / send / end, plus reading.
 * Sends and ends of one session run one at a time in arrival order; the store is written before a
 * reply is returned, and a failed exchange writes nothing.
 */
export class ChatService {
  readonly #active: ActiveSessions;
  readonly #lock: SessionLock;
  readonly #exchanges: Exchanges;

  constructor(
    private readonly deps: Deps,
    private readonly options: ChatServiceOptions,
  ) {
    this.#lock = deps.lock ?? new LocalSessionLock();
    this.#active = new ActiveSessions(deps.store, {
      ...options.cache,
      maxMessages: options.context.maxMessages,
      sharedStore: options.sharedStore ?? false,
      summaryBelongs: deps.summaryBelongs,
      countTokens: deps.countTokens,
    });
    this.#exchanges = new Exchanges({
      ...deps,
      lock: this.#lock,
      active: this.#active,
      context: options.context,
    });
  }

  /** Sessions held in memory right now. */
  get activeSessionCount(): number {
    return this.#active.size;
  }

  async createSession(userId: string, templateId?: string): Promise<Session> {
    const personalityId = templateId ?? this.deps.personalities.defaultPersonalityId;
    const resolved = await this.deps.personalities.resolve(personalityId);
    if (!resolved) throw new ChatError('template_not_found', `There is no personality template "${personalityId}".`);
    const now = this.#now();
    const session: Session = {
      id: this.deps.newId(),
      userId,
      templateId: personalityId,
      systemPrompt: resolved.systemPrompt,
      status: 'active',
      createdAt: now,
      lastActivity: now,
      endedAt: null,
      messageCount: 0,
      activeSeq: null,
      usage: { promptTokens: 0, completionTokens: 0 },
      memoryTokens: 0,
      title: null,
      summary: null,
    };
    await this.deps.store.createSession(session);
    await this.deps.personalities.recordUse(personalityId);
    this.#active.add(session);
    return session;
  }

  /**
   * Sends a user message and returns the model's reply once both are stored. The exchange completes
   * and is stored even if whoever listens to the streamed pieces goes away.
   */
  sendMessage(sessionId: string, text: string, options: SendOptions = {}): Promise<ExchangeResult> {
    return this.ask(sessionId, { kind: 'send', text }, options);
  }

  /**
   * Runs a turn (send, regenerate, edit) once the session's earlier work is done: the new reply and
   * anything new before it are stored and become the end of the active path.
   */
  ask(sessionId: string, turn: Turn, options: SendOptions = {}): Promise<ExchangeResult> {
    this.#checkTurnInput(sessionId, turn);
    return this.#exchanges.run(sessionId, turn, options);
  }

  /** A summary stored for the path held as `pathEpoch`: memory uses it from the next send on. */
  summaryStored(sessionId: string, summary: SessionSummary, pathEpoch: number): void {
    this.#active.summaryStored(sessionId, summary, pathEpoch);
  }

  /** Resolves when every exchange under way has finished, or after `timeoutMs`, whichever is first. */
  drain(timeoutMs: number): Promise<void> {
    return this.#exchanges.drain(timeoutMs);
  }

  /** The session if the caller may see it (ended ones too); 404 otherwise. */
  async visibleSession(sessionId: string, caller: Caller = {}): Promise<Session> {
    assertSessionId(sessionId);
    const session = visibleTo(caller, await this.#active.current(sessionId));
    if (!session) throw sessionNotFound();
    return session;
  }

  /** Who a session belongs to, or null if there is no such session (for per-user limits). */
  async sessionOwner(sessionId: string): Promise<string | null> {
    if (!isSessionId(sessionId)) return null;
    return (this.#active.peek(sessionId) ?? (await this.deps.store.getSession(sessionId)))?.userId ?? null;
  }

  /** Throws as `ask` would for this turn, without queueing anything (a stream then starts only for what can be answered). */
  async checkTurn(sessionId: string, turn: Turn, caller: Caller = {}, idempotencyKey?: string): Promise<void> {
    this.#checkTurnInput(sessionId, turn);
    const session = visibleTo(caller, await this.#active.current(sessionId));
    if (!session) throw sessionNotFound();
    // A keyed turn already under way answers as that turn does, whatever happened since.
    if (idempotencyKey !== undefined && this.#exchanges.isRunning(sessionId, idempotencyKey)) return;
    const replay = idempotencyKey === undefined ? null : await this.#exchanges.replay(sessionId, turn, idempotencyKey, caller);
    if (replay) return;
    // A keyed retry may replay an answer the session stored before it ended; any other is refused here.
    if (session.status !== 'active') throw sessionEnded();
    await checkTarget(this.deps.store, session, turn);
    // A model that would refuse the call at once (an open circuit) is reported before a stream starts.
    const paused = this.deps.llm.unavailableNow?.();
    if (paused) throw toChatError(paused);
  }

  async getSession(sessionId: string, page: { limit: number; before?: number | undefined }, caller: Caller = {}): Promise<SessionView> {
    assertSessionId(sessionId);
    const session = visibleTo(caller, await this.deps.store.getSession(sessionId));
    if (!session) throw sessionNotFound();
    const fetched = await this.deps.store.readMessages(sessionId, { limit: page.limit + 1, beforeSeq: page.before });
    const hasMore = fetched.length > page.limit;
    const messages = hasMore ? fetched.slice(1) : fetched;
    // Every message's versions, for the whole page at once.
    const parents = [...new Set(messages.map((m) => m.parentSeq))];
    const [siblings, summary] = await Promise.all([
      parents.length === 0 ? new Map<number | null, number[]>() : this.deps.store.childrenOf(sessionId, parents),
      this.#summaryOf(session),
    ]);
    return { session, messages, siblings, hasMore, summary };
  }

  /** The stored summary if it belongs to the active path (another branch's is not this conversation's). */
  async #summaryOf(session: Session): Promise<string | null> {
    const { summary } = session;
    if (!summary || !this.deps.summaryBelongs) return null;
    return (await this.deps.summaryBelongs(session.id, summary, session.activeSeq)) ? summary.text : null;
  }

  /**
   * Makes the path through a message active (down its newest replies), after the session's earlier
   * work; the session as `getSession` then shows it.
   */
  selectMessage(sessionId: string, seq: number, page: { limit: number }, caller: Caller = {}): Promise<SessionView> {
    assertSessionId(sessionId);
    return this.#lock.run(sessionId, async () => {
      const session = visibleTo(caller, await this.#active.current(sessionId));
      if (!session) throw sessionNotFound();
      if (session.status !== 'active') throw sessionEnded();
      const selected = Number.isSafeInteger(seq) && seq > 0 ? await this.deps.store.selectMessage(sessionId, seq) : null;
      // Memory no longer holds the active path (and, if nothing changed, rereading it is cheap).
      this.#active.forget(sessionId);
      if (!selected) {
        if ((await this.deps.store.getSession(sessionId))?.status !== 'active') throw sessionEnded();
        throw messageNotFound();
      }
      return this.getSession(sessionId, page, caller);
    });
  }

  /** Every message of the session's tree, oldest first, `limit` at a time after `afterSeq`. */
  async readTree(
    sessionId: string,
    page: { limit: number; afterSeq?: number | undefined },
    caller: Caller = {},
  ): Promise<{ messages: StoredMessage[]; hasMore: boolean }> {
    assertSessionId(sessionId);
    if (!visibleTo(caller, await this.deps.store.getSession(sessionId))) throw sessionNotFound();
    const fetched = await this.deps.store.readTree(sessionId, { limit: page.limit + 1, afterSeq: page.afterSeq });
    return { messages: fetched.slice(0, page.limit), hasMore: fetched.length > page.limit };
  }

  userUsage(userId: string) {
    return this.deps.store.userUsage(userId);
  }

  /** Ends a session after any sends already queued for it, and lets it leave memory. */
  endSession(sessionId: string, caller: Caller = {}): Promise<EndResult> {
    assertSessionId(sessionId);
    return this.#lock.run(sessionId, async () => {
      const session = visibleTo(caller, await this.#active.current(sessionId));
      if (!session) throw sessionNotFound();
      if (session.status !== 'active') throw sessionEnded();
      const endedAt = this.#now();
      if (!(await this.deps.store.endSession(sessionId, endedAt))) {
        this.#active.forget(sessionId);
        throw sessionEnded();
      }
      this.#active.forget(sessionId);
      const ended: Session = { ...session, status: 'ended', endedAt };
      this.deps.afterEnd?.(ended);
      const durationSeconds = (Date.parse(endedAt) - Date.parse(session.createdAt)) / 1000;
      return { session: ended, durationSeconds };
    });
  }

  close(): void {
    this.#active.close();
  }

  #checkTurnInput(sessionId: string, turn: Turn): void {
    const text = turnText(turn);
    if (text !== undefined) checkMessageText(text, this.options.maxMessageLength);
    assertSessionId(sessionId);
  }

  #now(): string {
    return this.deps.now().toISOString();
  }
}
