import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import type { Housekeeping } from './chat/housekeeping.js';
import { HousekeepingModel } from './chat/housekeeping-model.js';
import type { Llm } from './chat/llm.js';
import { MemoryLearning } from './chat/memory-learning.js';
import { MemoryService } from './chat/memory-service.js';
import type { PersonalityService } from './chat/personality-service.js';
import type { SessionLock } from './chat/session-lock.js';
import { ChatService } from './chat/session-service.js';
import { SessionSummaries } from './chat/session-summaries.js';
import { TitleWriter } from './chat/session-titles.js';
import { SessionTransfer } from './chat/session-transfer.js';
import type { TokenCounter } from './chat/token-count.js';
import type { Session } from './chat/types.js';
import type { ChatifyStore } from './store/open-store.js';

export interface ConversationDeps {
  config: Pick<Config, 'context' | 'summary' | 'memory' | 'memoryModel' | 'maxMessageLength' | 'sessionCache'>;
  store: ChatifyStore;
  llm: Llm;
  personalities: PersonalityService;
  housekeeping: Housekeeping;
  countTokens: TokenCounter;
  now: () => Date;
  lock: SessionLock;
  /** Other instances share the store (see ChatServiceOptions). */
  sharedStore: boolean;
  /** Told the tokens each housekeeping call used (the user's token quota); they are added to the session's usage here. */
  onHousekeepingTokens?: (session: Session, tokens: number) => void;
}

/**
 * The conversation and everything beside it: the chat service, and the housekeeping after each
 * exchange (a title after the first, the rolling summary once messages leave the window, memories
 * every MEMORY_EVERY_EXCHANGES exchanges and at the end), each a bounded job that never touches the reply.
 */
export function assembleConversation(deps: ConversationDeps) {
  const { config, store, personalities, housekeeping, countTokens, now } = deps;
  const model = new HousekeepingModel({
    llm: deps.llm,
    memoryModel: config.memoryModel,
    onTokens: async (session, tokens) => {
      deps.onHousekeepingTokens?.(session, tokens);
      await store.addMemoryTokens(session.id, tokens);
    },
  });
  const personalityOf = async (session: Session) => (await personalities.forSession(session)).personality;
  const titles = new TitleWriter({ store, model, personalityOf });
  const summaries = new SessionSummaries({ store, personalities, model, countTokens, maxTokens: config.summary.maxTokens });
  const memories = new MemoryService({ memories: store.memories, countTokens, now, newId: randomUUID, limits: config.memory });
  const learning = new MemoryLearning({
    store,
    memories,
    personalities,
    model,
    window: Math.min(40, Math.max(10, 2 * config.memory.everyExchanges)),
  });
  // One job per kind and session at a time, on every instance (the lock reaches as far as the store is shared).
  const once = (kind: string, sessionId: string, run: (signal: AbortSignal) => Promise<void>) =>
    void housekeeping.enqueue({ kind, sessionId, run: (signal) => deps.lock.run(`housekeeping:${kind}:${sessionId}`, () => run(signal)) });
  const learnFrom = (session: Session) => {
    if (memories.enabled) once('memory', session.id, (signal) => learning.learn(session.id, signal));
  };

  const chat: ChatService = new ChatService(
    {
      store,
      llm: deps.llm,
      personalities,
      countTokens,
      now,
      newId: randomUUID,
      lock: deps.lock,
      recall: memories.enabled ? (session, personality) => memories.recall(session.userId, personality.id) : undefined,
      summaryBelongs: config.summary.enabled ? (id, summary, leaf) => summaries.belongsTo(id, summary, leaf) : undefined,
      afterExchange: (event) => {
        const { session } = event;
        if (event.turn.kind === 'send' && session.messageCount === 1) {
          once('title', session.id, (signal) => titles.write(session.id, event.question, event.answer, signal));
        }
        // Messages left the window that the summary does not cover yet.
        const before = event.windowStart.parentSeq;
        if (config.summary.enabled && before !== null && before > (event.summaryThrough ?? 0) && session.activeSeq !== null) {
          const task = { sessionId: session.id, leafSeq: session.activeSeq, throughSeq: before };
          once('summary', session.id, async (signal) => {
            const summary = await summaries.update(task, signal);
            if (summary) chat.summaryStored(session.id, summary, event.pathEpoch);
          });
        }
        if (event.turn.kind === 'send' && session.messageCount % config.memory.everyExchanges === 0) learnFrom(session);
      },
      // At the end, unless the last exchanges were just learnt from.
      afterEnd: (session) => {
        if (session.messageCount % config.memory.everyExchanges !== 0) learnFrom(session);
      },
    },
    { context: config.context, maxMessageLength: config.maxMessageLength, cache: config.sessionCache, sharedStore: deps.sharedStore },
  );
  const transfer = new SessionTransfer({ store, personalities, countTokens, now, newId: randomUUID, maxMessageLength: config.maxMessageLength });
  return { chat, memories, transfer };
}
