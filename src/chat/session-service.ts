import { ActiveSessions } from './active-sessions.js';
import { selectContext, type ContextLimits } from './context-window.js';
import { ChatError } from './errors.js';
import type { Completion, Llm, ModelMessage } from './llm.js';
import { modelSettingsOf, type PersonalityService, type ResolvedPersonality } from './personality-service.js';
import { LocalSessionLock, type SessionLock } from './session-lock.js';
import type { Store } from './store.js';
import type { TokenCounter } from './token-count.js';
import type { NewMessage, Session } from './types.js';
import { checkMessageText } from './message-text.js';
import { assertSessionId, idempotencyKeyReused, isSessionId, sessionEnded, sessionNotFound, toChatError, visibleTo } from './session-rules.js';
import type { Caller, EndResult, ExchangeResult, ExchangeTimings, SendOptions, SessionView } from './session-types.js';

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
  /** Told once a session's first exchange is stored (to name it); must return at once and never throw. */
  afterFirstExchange?: (sessionId: string, question: string, answer: string) => void;
}

/** Which keyed send is which in `#keyed`: keys are the client's, so they are scoped by session. */
const keyedSend = (sessionId: string, key: string) => `${sessionId}\n${key}`;

/**
 * Conversations between a user and a personality: the seed's create / send / end, plus reading.
 * Sends and ends of one session run one at a time in arrival order; the store is written before a
 * reply is returned, and a failed exchange writes nothing.
 */
export class ChatService {
  readonly #active: ActiveSessions;
  readonly #lock: SessionLock;
  /** Exchanges under way, so shutdown can let them finish (a streamed reply may outlive its client). */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Keyed sends under way: a retry that arrives meanwhile waits for the same answer. */
  readonly #keyed = new Map<string, { text: string; exchange: Promise<ExchangeResult> }>();

  constructor(
    private readonly deps: Deps,
    private readonly options: ChatServiceOptions,
  ) {
    this.#lock = deps.lock ?? new LocalSessionLock();
    this.#active = new ActiveSessions(deps.store, {
      ...options.cache,
      maxMessages: options.context.maxMessages,
      sharedStore: options.sharedStore ?? false,
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
      usage: { promptTokens: 0, completionTokens: 0 },
      title: null,
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
    checkMessageText(text, this.options.maxMessageLength);
    assertSessionId(sessionId);
    const receivedAt = this.#now();
    const sentAt = performance.now();
    const keyed = options.idempotencyKey === undefined ? undefined : keyedSend(sessionId, options.idempotencyKey);
    const running = keyed === undefined ? undefined : this.#keyed.get(keyed);
    if (running) return this.#joinRunning(sessionId, text, options.caller ?? {}, running);
    const exchange = this.#lock.run(sessionId, () => this.#exchange(sessionId, text, receivedAt, sentAt, options));
    this.#inFlight.add(exchange);
    if (keyed !== undefined) this.#keyed.set(keyed, { text, exchange });
    const forget = () => {
      this.#inFlight.delete(exchange);
      if (keyed !== undefined) this.#keyed.delete(keyed);
    };
    exchange.then(forget, forget);
    return exchange;
  }

  /** A retry of a keyed send still under way: same caller rules and same text, then the same answer. */
  async #joinRunning(
    sessionId: string,
    text: string,
    caller: Caller,
    running: { text: string; exchange: Promise<ExchangeResult> },
  ): Promise<ExchangeResult> {
    if (!visibleTo(caller, await this.#active.current(sessionId))) throw sessionNotFound();
    if (running.text !== text) throw idempotencyKeyReused();
    return { ...(await running.exchange), replayed: true };
  }

  /** Resolves when every exchange under way has finished, or after `timeoutMs`, whichever is first. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.#inFlight]), deadline]);
    clearTimeout(timer);
  }

  /** Who a session belongs to, or null if there is no such session (for per-user limits). */
  async sessionOwner(sessionId: string): Promise<string | null> {
    if (!isSessionId(sessionId)) return null;
    return (this.#active.peek(sessionId) ?? (await this.deps.store.getSession(sessionId)))?.userId ?? null;
  }

  /** Throws as sendMessage would for this id and text, without queueing anything. */
  async checkSendable(sessionId: string, text: string, caller: Caller = {}, idempotencyKey?: string): Promise<void> {
    checkMessageText(text, this.options.maxMessageLength);
    assertSessionId(sessionId);
    const session = visibleTo(caller, await this.#active.current(sessionId));
    if (!session) throw sessionNotFound();
    // A keyed send already under way answers as that send does, whatever happened since.
    if (idempotencyKey !== undefined && this.#keyed.has(keyedSend(sessionId, idempotencyKey))) return;
    if (session.status !== 'active') {
      // A keyed retry may replay an answer the session stored before it ended; any other send to an
      // ended session is refused here, before a stream starts.
      if (idempotencyKey === undefined || !(await this.#replay(sessionId, text, idempotencyKey, caller))) throw sessionEnded();
      return;
    }
    // A model that would refuse the call at once (an open circuit) is reported before a stream starts.
    const paused = this.deps.llm.unavailableNow?.();
    if (paused && (idempotencyKey === undefined || !(await this.deps.store.findExchange(sessionId, idempotencyKey)))) {
      throw toChatError(paused);
    }
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
    const siblings = parents.length === 0 ? new Map<number | null, number[]>() : await this.deps.store.childrenOf(sessionId, parents);
    return { session, messages, siblings, hasMore };
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
      const durationSeconds = (Date.parse(endedAt) - Date.parse(session.createdAt)) / 1000;
      return { session: ended, durationSeconds };
    });
  }

  close(): void {
    this.#active.close();
  }

  async #exchange(sessionId: string, text: string, receivedAt: string, sentAt: number, options: SendOptions): Promise<ExchangeResult> {
    if (options.idempotencyKey !== undefined) {
      const replay = await this.#replay(sessionId, text, options.idempotencyKey, options.caller ?? {});
      if (replay) return replay;
    }
    const active = await this.#active.load(sessionId);
    if (!visibleTo(options.caller ?? {}, active.session)) throw sessionNotFound();
    const resolved = await this.deps.personalities.forSession(active.session);
    const question: NewMessage = {
      role: 'user',
      content: text,
      tokens: this.deps.countTokens(text),
      createdAt: receivedAt,
      idempotencyKey: options.idempotencyKey ?? null,
    };
    const context = selectContext(active.recent, question, resolved.systemPromptTokens, this.options.context);
    const messages: ModelMessage[] = [{ role: 'system', content: resolved.systemPrompt }];
    for (const m of context) messages.push({ role: m.role, content: m.content });

    const modelCalledAt = performance.now();
    // The deadline counts from the message's arrival: waiting behind earlier sends is part of it.
    const completion = await this.#complete(resolved, messages, options.onDelta, modelCalledAt - sentAt);
    const modelAnsweredAt = performance.now();
    const answer: NewMessage = {
      role: 'assistant',
      content: completion.text,
      tokens: this.deps.countTokens(completion.text),
      createdAt: this.#now(),
      usage: completion.usage,
    };
    // The count the context was built on fences the write: a stale view never lands.
    const basis = active.session.messageCount;
    const stored = await this.deps.store.appendExchange(sessionId, [question, answer], answer.createdAt, basis).catch((error: unknown) => {
      // The write may have landed before the store failed (a retry with the same key then replays it):
      // memory no longer knows the session's state, so the next send reads it from the store.
      this.#active.forget(sessionId);
      throw error;
    });
    const storedAt = performance.now();
    if (!stored) {
      this.#active.forget(sessionId);
      const now = await this.deps.store.getSession(sessionId);
      if (now?.status === 'active') {
        throw new ChatError('session_conflict', 'This session changed while the reply was written. Please send again.');
      }
      throw sessionEnded();
    }
    this.#active.remember(active, question, answer);
    if (stored.messageCount === 1) this.deps.afterFirstExchange?.(sessionId, text, completion.text);
    active.session.messageCount = stored.messageCount;
    active.session.lastActivity = answer.createdAt;
    if (completion.usage) {
      active.session.usage = {
        promptTokens: active.session.usage.promptTokens + completion.usage.promptTokens,
        completionTokens: active.session.usage.completionTokens + completion.usage.completionTokens,
      };
    }
    return {
      session: { ...active.session },
      reply: completion.text,
      messages: stored.messages,
      messageCount: stored.messageCount,
      replayed: false,
      timings: { prepareMs: modelCalledAt - sentAt, modelMs: modelAnsweredAt - modelCalledAt, storeMs: storedAt - modelAnsweredAt },
    };
  }

  /** The stored answer to an earlier send with this key, if there was one. */
  async #replay(sessionId: string, text: string, key: string, caller: Caller): Promise<ExchangeResult | null> {
    const prior = await this.deps.store.findExchange(sessionId, key);
    if (!prior) return null;
    const session = visibleTo(caller, await this.deps.store.getSession(sessionId));
    if (!session) throw sessionNotFound();
    const [question, answer] = prior.messages;
    if (question?.content !== text) throw idempotencyKeyReused();
    return { session, reply: answer?.content ?? '', messages: prior.messages, messageCount: prior.messageCount, replayed: true };
  }

  async #complete(
    resolved: ResolvedPersonality,
    messages: ModelMessage[],
    onDelta: ((text: string) => void) | undefined,
    waitedMs: number,
  ): Promise<Completion> {
    const { personality } = resolved;
    try {
      return await this.deps.llm.complete({
        ...modelSettingsOf(personality),
        messages,
        persona: { id: personality.id, name: personality.name },
        onDelta,
        waitedMs,
      });
    } catch (error) {
      throw toChatError(error);
    }
  }

  #now(): string {
    return this.deps.now().toISOString();
  }
}
