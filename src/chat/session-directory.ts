import { ChatError } from './errors.js';
import { hasVisibleCharacter } from './message-text.js';
import { assertSessionId, sessionNotFound, visibleTo } from './session-rules.js';
import type { Caller } from './session-types.js';
import type { Store } from './store.js';
import type { Page, Session } from './types.js';

/** A title a user sets: longer than a generated one may be, but still a title. */
export const MAX_TITLE_LENGTH = 200;
/** Longest `q`; its words beyond the first MAX_QUERY_WORDS are ignored. */
export const MAX_QUERY_LENGTH = 200;
const MAX_QUERY_WORDS = 10;
const MAX_WORD_LENGTH = 64;

const CONTROL = /\p{Cc}/u;

/** Finding and naming a user's sessions: the list, search by words, renames. */
export class SessionDirectory {
  constructor(private readonly store: Store) {}

  list(userId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    return this.store.listSessions(userId, page);
  }

  /** Sessions whose title or one message contains every word of `query` (case-insensitive, word starts). */
  search(userId: string, query: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    return this.store.searchSessions(userId, searchWords(query), page);
  }

  /** Renames a session, ended or not; the new title wins over one being generated. */
  async rename(sessionId: string, title: string, caller: Caller = {}): Promise<void> {
    const clean = checkTitle(title);
    assertSessionId(sessionId);
    if (!visibleTo(caller, await this.store.getSession(sessionId))) throw sessionNotFound();
    if (!(await this.store.setTitle(sessionId, clean, false))) throw sessionNotFound();
  }
}

/** A user's title, trimmed: one visible character at least, one line, well-formed, bounded. */
export function checkTitle(title: string): string {
  const trimmed = title.trim();
  if (!hasVisibleCharacter(trimmed)) throw new ChatError('invalid_title', 'The title is empty: it has no visible character.');
  if ([...trimmed].length > MAX_TITLE_LENGTH) {
    throw new ChatError('invalid_title', `The title is longer than ${MAX_TITLE_LENGTH} characters.`);
  }
  if (!trimmed.isWellFormed() || CONTROL.test(trimmed)) {
    throw new ChatError('invalid_title', 'The title must be one line without control characters or broken Unicode.');
  }
  return trimmed;
}

/**
 * The words of a query as every store searches them: runs of letters and digits, lower case,
 * each once, at most MAX_QUERY_WORDS. A query without any is refused.
 */
export function searchWords(query: string): string[] {
  const words = [...new Set((query.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? []).map((w) => w.slice(0, MAX_WORD_LENGTH)))];
  if (words.length === 0) throw new ChatError('invalid_query', 'q has no word to search for: give letters or digits.');
  return words.slice(0, MAX_QUERY_WORDS);
}
