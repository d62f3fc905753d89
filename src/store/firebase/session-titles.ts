import type { Database } from 'firebase-admin/database';
import type { Page, Session } from '../../chat/types.js';
import { pushKeyCursor } from '../session-cursors.js';
import { userKey, validKey, type TimedDatabase } from './firebase-access.js';

/** Index entries read per step of a search. */
const SCAN_PAGE = 100;

/** The words of a title as searches see them: runs of letters and digits, lower case. */
const wordsOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];

/**
 * Session titles in Firebase: userSessions/{id}/title. The Realtime Database has no text search,
 * so a search reads the user's session index newest first, page by page, with each session's
 * title only (never its history), and keeps those whose title has every word as a word start.
 */
export class FirebaseSessionTitles {
  constructor(
    private readonly timed: TimedDatabase,
    private readonly db: Database,
    private readonly getSession: (id: string) => Promise<Session | null>,
  ) {}

  /** With `onlyIfUnset`, a transaction that writes only over no title: a rename always wins. */
  async set(id: string, title: string, onlyIfUnset: boolean): Promise<boolean> {
    if (!validKey(id) || (await this.timed.read(this.db.ref(`userSessions/${id}/user_id`))) == null) return false;
    const ref = this.db.ref(`userSessions/${id}/title`);
    if (!onlyIfUnset) {
      await this.timed.within(ref.set(title));
      return true;
    }
    const result = await this.timed.transaction(ref, (current: string | null) => (current === null ? title : undefined));
    return result.committed;
  }

  async search(userId: string, words: readonly string[], page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    const index = this.db.ref(`userSessionIndex/${userKey(userId)}`);
    let end = page.cursor === undefined ? undefined : pushKeyCursor(page.cursor);
    const matches: { key: string; id: string }[] = [];
    while (matches.length <= page.limit) {
      let query = index.orderByKey();
      if (end !== undefined) query = query.endAt(end);
      const batch = ((await this.timed.read(query.limitToLast(end === undefined ? SCAN_PAGE : SCAN_PAGE + 1))) ?? {}) as Record<string, string>;
      const keys = Object.keys(batch).filter((key) => key !== end).sort().reverse();
      const titles = await Promise.all(keys.map((key) => this.timed.read(this.db.ref(`userSessions/${batch[key]}/title`))));
      keys.forEach((key, i) => {
        const title = titles[i];
        if (typeof title === 'string' && matchesAll(title, words)) matches.push({ key, id: batch[key]! });
      });
      if (keys.length < SCAN_PAGE) break;
      end = keys.at(-1);
    }
    const hasMore = matches.length > page.limit;
    const shown = matches.slice(0, page.limit);
    const sessions = await Promise.all(shown.map((m) => this.getSession(m.id)));
    return {
      items: sessions.filter((s): s is Session => s !== null && s.userId === userId),
      nextCursor: hasMore ? shown.at(-1)!.key : null,
    };
  }
}

function matchesAll(title: string, words: readonly string[]): boolean {
  const titleWords = wordsOf(title);
  return words.every((word) => titleWords.some((t) => t.startsWith(word)));
}
