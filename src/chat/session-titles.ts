import type { HousekeepingModel } from './housekeeping-model.js';
import type { ModelMessage } from './llm.js';
import type { Store } from './store.js';
import type { Personality, Session } from './types.js';

/** A generated title's bounds; a rename by the user may be longer (see MAX_TITLE_LENGTH). */
export const MAX_TITLE_WORDS = 8;
const MAX_GENERATED_CHARS = 80;
/** How much of each message the title request quotes: the gist is at the start. */
const QUOTED_CHARS = 1000;

/** The title request's system prompt; it also tells a test's fake model which request this is. */
export const TITLE_INSTRUCTIONS =
  'You name conversations. Reply with a short title of at most 8 words for the conversation below, ' +
  'in its language. Reply with the title only: no quotes, no trailing punctuation, no explanation.';

/**
 * A model's answer made into a title: the first line, without surrounding quotes, a "Title:"
 * prefix or trailing punctuation, at most 8 words and a sane length. Null when nothing is left.
 */
export function cleanTitle(raw: string): string | null {
  let text = raw.trim().split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  text = text.replace(/^\s*(?:title|titre|titel|título)\s*:\s*/i, '');
  text = text.replace(/^[\s"'`“”‘’«»*#_]+|[\s"'`“”‘’«»*_]+$/gu, '');
  text = text.replace(/[\s.,;:!?。！？…-]+$/u, '');
  return boundedWords(text);
}

/** The offline responder's title: the first words of the first message. */
export function firstWordsTitle(text: string): string | null {
  return boundedWords(text.replace(/[\s.,;:!?。！？…-]+$/u, ''));
}

function boundedWords(text: string): string | null {
  const words = text.split(/\s+/u).filter((w) => w !== '').slice(0, MAX_TITLE_WORDS);
  let title = words.join(' ');
  if ([...title].length > MAX_GENERATED_CHARS) title = [...title].slice(0, MAX_GENERATED_CHARS).join('').trimEnd();
  // Only control characters or invisible ones: not a title.
  return /[\p{L}\p{N}\p{S}]/u.test(title) && !/\p{Cc}/u.test(title) ? title : null;
}

/** A message quoted in a housekeeping request: its first 1000 characters, where the gist is. */
export const quote = (text: string) => ([...text].length > QUOTED_CHARS ? `${[...text].slice(0, QUOTED_CHARS).join('')}…` : text);

export interface TitleWriterDeps {
  store: Store;
  model: HousekeepingModel;
  /** The session's personality, for its model and its name (offline replies). */
  personalityOf(session: Session): Promise<Pick<Personality, 'id' | 'name' | 'model'>>;
}

/**
 * Names a session after its first exchange. The name is written only while the session has none,
 * atomically in the store, so a rename by the user always wins over a generation racing it.
 */
export class TitleWriter {
  constructor(private readonly deps: TitleWriterDeps) {}

  async write(sessionId: string, question: string, answer: string, signal: AbortSignal): Promise<void> {
    const session = await this.deps.store.getSession(sessionId);
    if (!session || session.title !== null) return;
    const title = this.deps.model.offline ? firstWordsTitle(question) : await this.#ask(session, question, answer, signal);
    if (title !== null) await this.deps.store.setTitle(sessionId, title, true);
  }

  async #ask(session: Session, question: string, answer: string, signal: AbortSignal): Promise<string | null> {
    const messages: ModelMessage[] = [
      { role: 'system', content: TITLE_INSTRUCTIONS },
      { role: 'user', content: `User: ${quote(question)}\n\nAssistant: ${quote(answer)}` },
    ];
    const text = await this.deps.model.ask(session, await this.deps.personalityOf(session), messages, { maxTokens: 32, signal });
    return cleanTitle(text);
  }
}
