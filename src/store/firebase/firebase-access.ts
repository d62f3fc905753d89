import type { Database, Query, Reference } from 'firebase-admin/database';
import { ChatError } from '../../chat/errors.js';

/** What a transaction answers: whether it committed, and the node's value then. */
export type TransactionResult = Awaited<ReturnType<Reference['transaction']>>;

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

  /**
   * A transaction that is never applied locally: by default the SDK shows its first, optimistic
   * result (often computed on a value not yet fetched, e.g. null) to every reader on this instance
   * until the server has answered, so a concurrent read could see a node vanish.
   */
  transaction<T>(ref: Reference, update: (current: T) => unknown): Promise<TransactionResult> {
    return this.within(ref.transaction(update, undefined, false));
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
