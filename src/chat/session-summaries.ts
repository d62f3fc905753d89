import type { HousekeepingModel } from './housekeeping-model.js';
import type { ModelMessage } from './llm.js';
import type { PersonalityService } from './personality-service.js';
import { quote } from './session-titles.js';
import type { Store } from './store.js';
import type { TokenCounter } from './token-count.js';
import type { SessionSummary, StoredMessage } from './types.js';

/** The summary request's system prompt; it also tells a test's fake model which request this is. */
export const SUMMARY_INSTRUCTIONS =
  'You keep the running summary of a conversation between a user and an AI companion. Update the summary ' +
  'with the new messages below: keep every fact about the user (names, places, preferences, plans) and what ' +
  'was decided or asked, drop small talk, write in the conversation\'s language, third person, plain text. ' +
  'Answer with the updated summary only.';

/** How the model is told the summary: a system message before the window. */
export const SUMMARY_PREFIX = 'Summary of the conversation so far:';

/** Messages summarised in one go at most (a branch whose summary must be made from scratch reads no more). */
const MAX_NEW_MESSAGES = 100;

/** What a summary job is asked to cover: the path down to `leafSeq`, up to and including `throughSeq`. */
export interface SummaryTask {
  sessionId: string;
  leafSeq: number;
  throughSeq: number;
}

/**
 * Rolling summaries: once messages of the active path leave the context window, they are folded
 * into the session's summary, off the reply's path, incrementally (the old summary plus what newly
 * left), within SUMMARY_MAX_TOKENS. A summary belongs to the path through its last message: another
 * branch gets its own when it needs one.
 */
export class SessionSummaries {
  constructor(
    private readonly deps: {
      store: Store;
      personalities: PersonalityService;
      model: HousekeepingModel;
      countTokens: TokenCounter;
      maxTokens: number;
    },
  ) {}

  /** Whether a stored summary belongs to the path down to `leafSeq` (its last message is on it). */
  async belongsTo(sessionId: string, summary: SessionSummary, leafSeq: number | null): Promise<boolean> {
    if (leafSeq === null || summary.throughSeq > leafSeq) return false;
    const [found] = await this.deps.store.readMessages(sessionId, { limit: 1, beforeSeq: summary.throughSeq + 1, leafSeq });
    return found?.seq === summary.throughSeq;
  }

  /** Brings the summary up to `task.throughSeq`; the new one, or null when there was nothing to do. */
  async update(task: SummaryTask, signal: AbortSignal): Promise<SessionSummary | null> {
    const session = await this.deps.store.getSession(task.sessionId);
    if (!session) return null;
    const old = session.summary && (await this.belongsTo(task.sessionId, session.summary, task.leafSeq)) ? session.summary : null;
    if (old && old.throughSeq >= task.throughSeq) return null;
    const page = await this.deps.store.readMessages(task.sessionId, { limit: MAX_NEW_MESSAGES, beforeSeq: task.throughSeq + 1, leafSeq: task.leafSeq });
    const fresh = page.filter((m) => m.seq > (old?.throughSeq ?? 0));
    if (fresh.length === 0) return null;
    const text = this.deps.model.offline
      ? this.#byRule(old?.text ?? null, fresh)
      : this.#bounded(await this.#ask(session, old?.text ?? null, fresh, signal));
    if (text === '') return null;
    const summary = { text, throughSeq: fresh.at(-1)!.seq };
    await this.deps.store.setSummary(task.sessionId, summary);
    return summary;
  }

  async #ask(session: Parameters<HousekeepingModel['ask']>[0], old: string | null, fresh: StoredMessage[], signal: AbortSignal): Promise<string> {
    const { personality } = await this.deps.personalities.forSession(session);
    const messages: ModelMessage[] = [
      { role: 'system', content: SUMMARY_INSTRUCTIONS },
      {
        role: 'user',
        content:
          `Summary so far:\n${old ?? '(none yet)'}\n\nNew messages:\n` +
          fresh.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${quote(m.content)}`).join('\n'),
      },
    ];
    return this.deps.model.ask(session, personality, messages, { maxTokens: this.deps.maxTokens, signal });
  }

  /** The offline responder's summary: what the user said, a line per message (its start), oldest kept first. */
  #byRule(old: string | null, fresh: StoredMessage[]): string {
    const lines = old ? old.split('\n') : [];
    for (const m of fresh) {
      const said = [...m.content.replace(/\s+/g, ' ').trim()];
      if (m.role === 'user' && said.length > 0) lines.push(`The user said: ${said.length > 200 ? `${said.slice(0, 200).join('')}…` : said.join('')}`);
    }
    return this.#bounded(lines.join('\n'), true);
  }

  /** Within SUMMARY_MAX_TOKENS: whole lines (by rule) or words (a model that ran long) past the bound are cut. */
  #bounded(text: string, byLine = false): string {
    const trimmed = text.trim();
    if (this.deps.countTokens(trimmed) <= this.deps.maxTokens) return trimmed;
    const parts = byLine ? trimmed.split('\n') : trimmed.split(/(?<=\s)/);
    let kept = '';
    for (const part of parts) {
      const next = byLine && kept !== '' ? `${kept}\n${part}` : kept + part;
      if (this.deps.countTokens(next) > this.deps.maxTokens) break;
      kept = next;
    }
    return kept.trim();
  }
}
