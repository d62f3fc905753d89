import type { ActiveSession, ActiveSessions, HeldSummary } from './active-sessions.js';
import { MESSAGE_FRAMING_TOKENS, selectContext, type ContextLimits } from './context-window.js';
import { ChatError } from './errors.js';
import type { Completion, Llm, ModelMessage } from './llm.js';
import { modelSettingsOf, type PersonalityService, type ResolvedPersonality } from './personality-service.js';
import type { SessionLock } from './session-lock.js';
import { idempotencyKeyReused, sessionEnded, sessionNotFound, toChatError, visibleTo } from './session-rules.js';
import type { Caller, ExchangeResult, SendOptions } from './session-types.js';
import type { Store } from './store.js';
import type { TokenCounter } from './token-count.js';
import { planBranch, turnFingerprint, turnText, type Turn, type TurnPlan } from './turns.js';
import type { NewMessage, Personality, Session, StoredMessage } from './types.js';
import type { Recollection } from './memory-service.js';
import { SUMMARY_PREFIX } from './session-summaries.js';

export interface ExchangesDeps {
  store: Store;
  llm: Llm;
  personalities: PersonalityService;
  countTokens: TokenCounter;
  now: () => Date;
  lock: SessionLock;
  active: ActiveSessions;
  context: ContextLimits;
  /** What the personality remembers about the user, for the prompt; null for nothing. */
  recall?: ((session: Session, personality: Personality) => Promise<Recollection | null>) | undefined;
  /** Told about every exchange once stored (titles, summaries, memories); must return at once and never throw. */
  afterExchange?: ((event: ExchangeEvent) => void) | undefined;
}

/** What housekeeping needs to know about a stored exchange; never on the reply's path. */
export interface ExchangeEvent {
  session: Session;
  turn: Turn;
  question: string;
  answer: string;
  /** The first message of the path that reached the model (the window's start), as stored. */
  windowStart: { seq: number; parentSeq: number | null };
  /** The summary's last message when one went with the prompt. */
  summaryThrough: number | null;
  /** Identifies the path held in memory (see ActiveSession.pathEpoch). */
  pathEpoch: number;
}

/** Which keyed turn is which in `#keyed`: keys are the client's, so they are scoped by session. */
const keyedTurn = (sessionId: string, key: string) => `${sessionId}\n${key}`;

/**
 * The model's turns in a session (a send, a regenerate, an edit): one at a time per session in
 * arrival order, the model called with the context the turn answers, and the store written before
 * the reply is returned; a failed turn writes nothing. A keyed turn is answered once, whatever the
 * retries.
 */
export class Exchanges {
  /** Turns under way, so shutdown can let them finish (a streamed reply may outlive its client). */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Keyed turns under way: a retry that arrives meanwhile waits for the same answer. */
  readonly #keyed = new Map<string, { fingerprint: string; exchange: Promise<ExchangeResult> }>();

  readonly #summaryPrefixTokens: number;

  constructor(private readonly deps: ExchangesDeps) {
    this.#summaryPrefixTokens = deps.countTokens(SUMMARY_PREFIX);
  }

  /** Whether a turn with this key is under way (it then answers its retries, whatever happened since). */
  isRunning(sessionId: string, key: string): boolean {
    return this.#keyed.has(keyedTurn(sessionId, key));
  }

  run(sessionId: string, turn: Turn, options: SendOptions): Promise<ExchangeResult> {
    const receivedAt = this.#now();
    const sentAt = performance.now();
    const keyed = options.idempotencyKey === undefined ? undefined : keyedTurn(sessionId, options.idempotencyKey);
    const running = keyed === undefined ? undefined : this.#keyed.get(keyed);
    if (running) return this.#joinRunning(sessionId, turnFingerprint(turn), options.caller ?? {}, running);
    const exchange = this.deps.lock.run(sessionId, () => this.#exchange(sessionId, turn, receivedAt, sentAt, options));
    this.#inFlight.add(exchange);
    if (keyed !== undefined) this.#keyed.set(keyed, { fingerprint: turnFingerprint(turn), exchange });
    const forget = () => {
      this.#inFlight.delete(exchange);
      if (keyed !== undefined) this.#keyed.delete(keyed);
    };
    exchange.then(forget, forget);
    return exchange;
  }

  /** Resolves when every turn under way has finished, or after `timeoutMs`, whichever is first. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.allSettled([...this.#inFlight]), deadline]);
    clearTimeout(timer);
  }

  /** The stored answer to an earlier turn with this key, if there was one. */
  async replay(sessionId: string, turn: Turn, key: string, caller: Caller): Promise<ExchangeResult | null> {
    const prior = await this.deps.store.findExchange(sessionId, key);
    if (!prior) return null;
    const session = visibleTo(caller, await this.deps.store.getSession(sessionId));
    if (!session) throw sessionNotFound();
    // The key's first message says what it was used for: a regenerated reply, or a user message with this text.
    const [first] = prior.messages;
    const text = turnText(turn);
    const same = text === undefined ? first?.role === 'assistant' : first?.role === 'user' && first.content === text;
    if (!same) throw idempotencyKeyReused();
    const reply = prior.messages.at(-1)?.role === 'assistant' ? prior.messages.at(-1)!.content : '';
    return { session, reply, messages: prior.messages, messageCount: prior.messageCount, replayed: true };
  }

  /** A retry of a keyed turn still under way: same caller rules and same request, then the same answer. */
  async #joinRunning(
    sessionId: string,
    fingerprint: string,
    caller: Caller,
    running: { fingerprint: string; exchange: Promise<ExchangeResult> },
  ): Promise<ExchangeResult> {
    if (!visibleTo(caller, await this.deps.active.current(sessionId))) throw sessionNotFound();
    if (running.fingerprint !== fingerprint) throw idempotencyKeyReused();
    return { ...(await running.exchange), replayed: true };
  }

  async #exchange(sessionId: string, turn: Turn, receivedAt: string, sentAt: number, options: SendOptions): Promise<ExchangeResult> {
    if (options.idempotencyKey !== undefined) {
      const replay = await this.replay(sessionId, turn, options.idempotencyKey, options.caller ?? {});
      if (replay) return replay;
    }
    const active = await this.deps.active.load(sessionId);
    if (!visibleTo(options.caller ?? {}, active.session)) throw sessionNotFound();
    const resolved = await this.deps.personalities.forSession(active.session);
    const [plan, recollection] = await Promise.all([
      this.#plan(active, turn, receivedAt, options.idempotencyKey ?? null),
      resolved.personality.memory && this.deps.recall ? this.deps.recall(active.session, resolved.personality) : null,
    ]);
    const summary = this.#summaryFor(active, plan);
    // The prompt: system prompt, what is remembered, the summary, then the newest messages that fit.
    const preamble: ModelMessage[] = [{ role: 'system', content: resolved.systemPrompt }];
    let preambleTokens = resolved.systemPromptTokens;
    if (recollection) {
      preamble.push({ role: 'system', content: recollection.text });
      preambleTokens += recollection.tokens + MESSAGE_FRAMING_TOKENS;
    }
    let history = plan.history;
    if (summary) {
      preamble.push({ role: 'system', content: `${SUMMARY_PREFIX} ${summary.text}` });
      preambleTokens += summary.tokens + this.#summaryPrefixTokens + MESSAGE_FRAMING_TOKENS;
      history = history.filter((m) => m.seq === undefined || m.seq > summary.throughSeq);
    }
    const context = selectContext(history, plan.question, preambleTokens, this.deps.context);
    const messages: ModelMessage[] = [...preamble];
    for (const m of context) messages.push({ role: m.role, content: m.content });

    const modelCalledAt = performance.now();
    // The deadline counts from the message's arrival: waiting behind earlier turns is part of it.
    const completion = await this.#complete(resolved, messages, options.onDelta, modelCalledAt - sentAt);
    const modelAnsweredAt = performance.now();
    const answer: NewMessage = {
      role: 'assistant',
      content: completion.text,
      tokens: this.deps.countTokens(completion.text),
      createdAt: this.#now(),
      usage: completion.usage,
      // A regenerated reply is appended alone, so it carries the key.
      idempotencyKey: plan.asksAnew ? null : (options.idempotencyKey ?? null),
    };
    const appended = plan.asksAnew ? [plan.question, answer] : [answer];
    // The active leaf the turn was planned on fences the write: a stale view never lands.
    const stored = await this.deps.store
      .appendExchange(sessionId, appended, answer.createdAt, active.session.activeSeq, plan.parentSeq)
      .catch((error: unknown) => {
        // The write may have landed before the store failed (a retry with the same key then replays it):
        // memory no longer knows the session's state, so the next turn reads it from the store.
        this.deps.active.forget(sessionId);
        throw error;
      });
    const storedAt = performance.now();
    if (!stored) {
      this.deps.active.forget(sessionId);
      const now = await this.deps.store.getSession(sessionId);
      if (now?.status === 'active') {
        throw new ChatError('session_conflict', 'This session changed while the reply was written. Please send again.');
      }
      throw sessionEnded();
    }
    this.#remember(active, plan, summary, stored.messages, stored.messageCount, completion);
    const first = context[0]!;
    const windowStart = first === plan.question && plan.asksAnew ? stored.messages[0]! : first;
    this.deps.afterExchange?.({
      session: { ...active.session },
      turn,
      question: plan.question.content,
      answer: completion.text,
      windowStart: { seq: windowStart.seq ?? stored.messages[0]!.seq, parentSeq: windowStart.parentSeq ?? null },
      summaryThrough: summary?.throughSeq ?? null,
      pathEpoch: active.pathEpoch,
    });
    return {
      session: { ...active.session },
      reply: completion.text,
      messages: stored.messages,
      messageCount: stored.messageCount,
      replayed: false,
      timings: { prepareMs: modelCalledAt - sentAt, modelMs: modelAnsweredAt - modelCalledAt, storeMs: storedAt - modelAnsweredAt },
    };
  }

  async #plan(active: ActiveSession, turn: Turn, receivedAt: string, key: string | null): Promise<TurnPlan> {
    const text = turnText(turn);
    const question: NewMessage | undefined =
      text === undefined ? undefined : { role: 'user', content: text, tokens: this.deps.countTokens(text), createdAt: receivedAt, idempotencyKey: key };
    if (turn.kind === 'send') return { history: active.recent, question: question!, asksAnew: true, parentSeq: undefined };
    return planBranch(this.deps.store, active.session, turn, question, this.deps.context.maxMessages - 1);
  }

  /**
   * The summary that belongs to the turn's path: on a send, the one held; on a branch, the held one
   * if it ends at or above the branch point (the two paths share everything above it).
   */
  #summaryFor(active: ActiveSession, plan: TurnPlan): HeldSummary | null {
    const held = active.summary;
    if (!held || plan.parentSeq === undefined) return held;
    return plan.parentSeq !== null && held.throughSeq <= plan.parentSeq ? held : null;
  }

  /** Memory follows the new active path: what the turn answered, then what it stored. */
  #remember(
    active: ActiveSession,
    plan: TurnPlan,
    summary: HeldSummary | null,
    stored: StoredMessage[],
    messageCount: number,
    completion: Completion,
  ): void {
    const session = active.session;
    // A branch's path is the one the turn read, up to its question; a send goes on from memory.
    if (plan.parentSeq !== undefined) this.deps.active.replacePath(active, plan.history, summary);
    this.deps.active.remember(active, ...(plan.asksAnew ? stored : [plan.question, ...stored]));
    session.messageCount = messageCount;
    session.activeSeq = stored.at(-1)!.seq;
    session.lastActivity = stored.at(-1)!.createdAt;
    if (completion.usage) {
      session.usage = {
        promptTokens: session.usage.promptTokens + completion.usage.promptTokens,
        completionTokens: session.usage.completionTokens + completion.usage.completionTokens,
      };
    }
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
