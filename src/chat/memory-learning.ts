import { Type } from 'typebox';
import { Value } from 'typebox/value';
import type { HousekeepingModel } from './housekeeping-model.js';
import { LlmError, type ModelMessage } from './llm.js';
import type { MemoryService } from './memory-service.js';
import type { PersonalityService } from './personality-service.js';
import { quote } from './session-titles.js';
import type { Store } from './store.js';
import type { StoredMessage } from './types.js';

/** The memory request's system prompt; it also tells a test's fake model which request this is. */
export const MEMORY_INSTRUCTIONS =
  'You keep notes about a user for an AI companion. From the conversation below, list the new durable facts ' +
  'about the user (name, where they live, work, family, likes and dislikes, plans) as short third-person ' +
  'sentences in the conversation\'s language. Leave out the assistant, passing moods and the facts already known. ' +
  'Answer with JSON only: {"facts": ["..."]}, with an empty list when there is nothing new.';

/** What the model must answer: checked again here, whatever it promised. */
export const FactsAnswer = Type.Object(
  { facts: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), { maxItems: 10 }) },
  { additionalProperties: false },
);

/** First-person statements the offline responder keeps, as a person would note them. */
const OFFLINE_FACT = /\b(my name is|i am called|call me|i live|i'm from|i am from|i work|i like|i love|i hate|i have a)\b/i;

/** Facts by rule, for the offline responder: the user's sentences that state one, as they said them. */
export function offlineFacts(messages: readonly StoredMessage[]): string[] {
  const facts: string[] = [];
  for (const m of messages) {
    if (m.role !== 'user') continue;
    for (const sentence of m.content.split(/(?<=[.!?])\s+|\n+/)) {
      if (OFFLINE_FACT.test(sentence)) facts.push(`The user said: "${sentence.trim().replace(/[.!?]+$/, '')}"`);
    }
  }
  return facts.slice(0, 10);
}

/**
 * Learns what a conversation says about its user (after every MEMORY_EVERY_EXCHANGES exchanges and
 * at its end), off the reply's path: the recent messages go to the memory model with structured
 * output, a malformed answer is dropped whole, and what is new is kept (see MemoryService.learn).
 */
export class MemoryLearning {
  constructor(
    private readonly deps: {
      store: Store;
      memories: MemoryService;
      personalities: PersonalityService;
      model: HousekeepingModel;
      /** Messages read back from the active path: those since the last time, roughly. */
      window: number;
    },
  ) {}

  async learn(sessionId: string, signal: AbortSignal): Promise<void> {
    if (!this.deps.memories.enabled) return;
    const session = await this.deps.store.getSession(sessionId);
    if (!session) return;
    const { personality } = await this.deps.personalities.forSession(session);
    if (!personality.memory) return;
    const recent = await this.deps.store.readMessages(sessionId, { limit: this.deps.window });
    if (!recent.some((m) => m.role === 'user')) return;
    let facts: string[];
    if (this.deps.model.offline) facts = offlineFacts(recent);
    else {
      const known = await this.deps.memories.list({ userId: session.userId, personalityId: personality.id });
      const messages: ModelMessage[] = [
        { role: 'system', content: MEMORY_INSTRUCTIONS },
        {
          role: 'user',
          content:
            `Already known:\n${known.map((m) => `- ${m.text}`).join('\n') || '(nothing)'}\n\nConversation:\n` +
            recent.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${quote(m.content)}`).join('\n'),
        },
      ];
      const answer = await this.deps.model.ask(session, personality, messages, {
        maxTokens: 400,
        signal,
        responseSchema: { name: 'user_facts', schema: FactsAnswer as unknown as Record<string, unknown> },
      });
      facts = parseFacts(answer);
    }
    await this.deps.memories.learn(session.userId, personality.id, facts, sessionId);
  }
}

/** The facts of a structured answer; anything else is a bad response (dropped, counted as failed). */
function parseFacts(answer: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    throw new LlmError('bad_response', 'the memory model did not answer JSON');
  }
  if (!Value.Check(FactsAnswer, parsed)) throw new LlmError('bad_response', 'the memory model answered JSON of another shape');
  return parsed.facts;
}
