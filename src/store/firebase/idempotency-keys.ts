import type { Reference } from 'firebase-admin/database';
import { userKey, type TimedDatabase } from './firebase-access.js';

/** What idempotencyKeys/{session}/{key} holds: true while the append using it runs, then its message's seq. */
export type KeyHolder = true | number;

/**
 * idempotencyKeys/{session}/{key}: each key is reserved (true) by one append, atomically, before
 * anything is written; the update that writes the messages also stores the user message's seq
 * there, so a retry finds its exchange by path instead of by a query over the conversation. An
 * append that is fenced or fails gives its reservation back, so a retry with the key can be stored.
 */
export class IdempotencyKeys {
  constructor(private readonly timed: TimedDatabase) {}

  /** The path of a key's node, relative to the root (for a multi-path update). */
  path(sessionId: string, key: string): string {
    return `idempotencyKeys/${sessionId}/${userKey(key)}`;
  }

  async held(sessionId: string, key: string): Promise<KeyHolder | null> {
    return (await this.timed.read(this.#ref(sessionId, key))) as KeyHolder | null;
  }

  /** Reserves every key, or none: throws when one is already held (and gives back those taken). */
  async reserve(sessionId: string, keys: readonly string[]): Promise<Reference[]> {
    const reserved: Reference[] = [];
    for (const key of keys) {
      const ref = this.#ref(sessionId, key);
      const taken = await this.timed.transaction(ref, (used: KeyHolder | null) => (used === null ? true : undefined));
      if (!taken.committed) {
        await this.release(reserved);
        throw new Error(`idempotency key "${key}" was already used in this session`);
      }
      reserved.push(ref);
    }
    return reserved;
  }

  /**
   * Gives reservations back. Only a bare reservation goes: if the append's write did land after all
   * (it timed out here but reached the server), the key keeps the seq it stored.
   */
  async release(reserved: readonly Reference[]): Promise<void> {
    await Promise.all(reserved.map((ref) => this.timed.transaction(ref, (held: KeyHolder | null) => (held === true ? null : held))));
  }

  #ref(sessionId: string, key: string): Reference {
    return this.timed.db.ref(this.path(sessionId, key));
  }
}
