import type { Llm, ModelMessage } from './llm.js';
import type { Personality, Session } from './types.js';

export interface HousekeepingModelDeps {
  llm: Llm;
  /** MEMORY_MODEL (else LLM_MODEL); undefined: the session's personality's model. */
  memoryModel: string | undefined;
  /** Told the tokens each call used, for the user's usage and quota; a failure there is not the call's. */
  onTokens?: ((session: Session, tokens: number) => Promise<void>) | undefined;
}

/**
 * The model calls beside the conversation (titles, summaries, memories): MEMORY_MODEL, a low
 * temperature, never the circuit breaker of replies (purpose `housekeeping`).
 */
export class HousekeepingModel {
  constructor(private readonly deps: HousekeepingModelDeps) {}

  /** Whether a real model answers (the offline responder does housekeeping by rule instead). */
  get offline(): boolean {
    return this.deps.llm.provider === 'offline';
  }

  async ask(
    session: Session,
    personality: Pick<Personality, 'id' | 'name' | 'model'>,
    messages: ModelMessage[],
    options: { maxTokens: number; signal: AbortSignal; responseSchema?: { name: string; schema: Record<string, unknown> } },
  ): Promise<string> {
    const completion = await this.deps.llm.complete({
      model: this.deps.memoryModel ?? personality.model,
      temperature: 0.2,
      maxTokens: options.maxTokens,
      presencePenalty: 0,
      frequencyPenalty: 0,
      messages,
      persona: { id: personality.id, name: personality.name },
      purpose: 'housekeeping',
      signal: options.signal,
      responseSchema: options.responseSchema,
    });
    if (completion.usage) {
      await this.deps.onTokens?.(session, completion.usage.promptTokens + completion.usage.completionTokens).catch(() => undefined);
    }
    return completion.text;
  }
}
