import type { Database, Query } from 'firebase-admin/database';
import { ChatError } from '../../chat/errors.js';

/** Message keys are zero-padded sequence numbers, so key order is conversation order. */
export const messageKey = (seq: number) => String(seq).padStart(10, '0');

/** User ids (and other outside strings) may hold characters Firebase keys may not (. # $ [ ] /). */
export const userKey = (userId: string) => userId.replace(/[.#$[\]/%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Ids that cannot be Firebase keys name nothing stored. */
export function validKey(id: string): boolean {
  return id.length > 0 && id.length <= 768 && !/[.#$[\]/]/.test(id);
}

/** The database with a time limit on every operation: by default they wait for a connection forever; ours give up with a 503. */
export class TimedDatabase {
  constructor(
    readonly db: Database,
    private readonly timeoutMs: number,
  ) {}

  async read(query: Query): Promise<unknown> {
    const snapshot = await this.within(query.once('value'));
    return snapshot.val();
  }

  within<T>(operation: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ChatError('store_unavailable', 'The database does not answer; please retry shortly.')),
        this.timeoutMs,
      );
    });
    return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
  }
}
