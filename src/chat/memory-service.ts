import { ChatError } from './errors.js';
import { hasVisibleCharacter } from './message-text.js';
import type { Memory, MemoryScope, MemoryStore } from './memory-store.js';
import type { Caller } from './session-types.js';
import type { TokenCounter } from './token-count.js';

/** A memory is a short fact, not a document. */
export const MAX_MEMORY_LENGTH = 500;
/** Word overlap at which a new fact counts as one already kept. */
const NEAR_DUPLICATE = 0.8;

export interface MemoryLimits {
  /** MEMORY_ENABLED: off, nothing is recalled or learnt (the API still lists and erases). */
  enabled: boolean;
  /** Kept per user and personality; the least recently used go first. */
  maxItems: number;
  /** What one prompt's memory message may take. */
  maxTokens: number;
}

/** What the model is told about a user, and which memories that was. */
export interface Recollection {
  text: string;
  tokens: number;
  ids: string[];
}

export const RECOLLECTION_PREFIX = 'What you remember about the user:';

function memoryNotFound(): ChatError {
  return new ChatError('memory_not_found', 'There is no such memory.');
}

/** A fact's words, for telling near-duplicates apart. */
const wordsOf = (text: string) => new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

function nearDuplicate(a: string, b: string): boolean {
  const x = wordsOf(a);
  const y = wordsOf(b);
  if (x.size === 0 || y.size === 0) return false;
  let shared = 0;
  for (const word of x) if (y.has(word)) shared += 1;
  return shared / (x.size + y.size - shared) >= NEAR_DUPLICATE || shared === Math.min(x.size, y.size);
}

/**
 * What personalities remember about users across sessions: the API's list, add, change and erase
 * (owners only), what goes into a prompt, and what is learnt from a conversation.
 */
export class MemoryService {
  constructor(
    private readonly deps: {
      memories: MemoryStore;
      countTokens: TokenCounter;
      now: () => Date;
      newId: () => string;
      limits: MemoryLimits;
    },
  ) {}

  get enabled(): boolean {
    return this.deps.limits.enabled;
  }

  list(scope: MemoryScope): Promise<Memory[]> {
    return this.deps.memories.list(scope);
  }

  /** A memory the user writes themselves (personalityId null: for every personality). */
  async create(userId: string, personalityId: string | null, text: string): Promise<Memory> {
    const now = this.#now();
    const memory: Memory = { id: this.deps.newId(), userId, personalityId, text: checkText(text), sourceSessionId: null, createdAt: now, updatedAt: now, usedAt: now };
    await this.deps.memories.insert(memory);
    await this.#keepWithinCap({ userId, personalityId });
    return memory;
  }

  async get(id: string, caller: Caller): Promise<Memory> {
    const memory = await this.deps.memories.get(id);
    if (!memory || (caller.userId !== undefined && memory.userId !== caller.userId)) throw memoryNotFound();
    return memory;
  }

  async update(id: string, text: string, caller: Caller): Promise<Memory> {
    await this.get(id, caller);
    const updated = await this.deps.memories.update(id, checkText(text), this.#now());
    if (!updated) throw memoryNotFound();
    return updated;
  }

  async delete(id: string, caller: Caller): Promise<void> {
    await this.get(id, caller);
    await this.deps.memories.delete([id]);
  }

  /** Forget everything in scope; how many memories that was. */
  deleteAll(scope: MemoryScope): Promise<number> {
    return this.deps.memories.deleteAll(scope);
  }

  /** The memory message for a prompt: newest first, as many as fit MEMORY_MAX_TOKENS; null when there are none. */
  async recall(userId: string, personalityId: string): Promise<Recollection | null> {
    if (!this.enabled) return null;
    const kept = await this.deps.memories.list({ userId, personalityId });
    const lines: string[] = [];
    const ids: string[] = [];
    let tokens = this.deps.countTokens(RECOLLECTION_PREFIX);
    for (const memory of kept) {
      const line = `- ${memory.text}`;
      const cost = this.deps.countTokens(line) + 1;
      if (tokens + cost > this.deps.limits.maxTokens) break;
      tokens += cost;
      lines.push(line);
      ids.push(memory.id);
    }
    if (lines.length === 0) return null;
    return { text: `${RECOLLECTION_PREFIX}\n${lines.join('\n')}`, tokens, ids };
  }

  /** Marks memories used (by a prompt): off the reply's path. */
  used(ids: readonly string[]): Promise<void> {
    return this.deps.memories.touch(ids, this.#now());
  }

  /**
   * Keeps new facts learnt in a session: a near-duplicate of a kept one only marks that one used;
   * beyond MEMORY_MAX_ITEMS for the user and personality, the least recently used go. How many were added.
   */
  async learn(userId: string, personalityId: string, facts: readonly string[], sourceSessionId: string): Promise<number> {
    const kept = await this.deps.memories.list({ userId, personalityId });
    const refreshed: string[] = [];
    let added = 0;
    for (const raw of facts) {
      const text = raw.trim();
      if (text === '' || [...text].length > MAX_MEMORY_LENGTH || !hasVisibleCharacter(text)) continue;
      const same = kept.find((m) => nearDuplicate(m.text, text));
      if (same) {
        refreshed.push(same.id);
        continue;
      }
      const now = this.#now();
      const memory: Memory = { id: this.deps.newId(), userId, personalityId, text, sourceSessionId, createdAt: now, updatedAt: now, usedAt: now };
      await this.deps.memories.insert(memory);
      kept.unshift(memory);
      added += 1;
    }
    await this.used(refreshed);
    if (added > 0) await this.#keepWithinCap({ userId, personalityId });
    return added;
  }

  /** Drops the least recently used beyond the cap, counting only the bucket's own (not every personality's). */
  async #keepWithinCap(bucket: { userId: string; personalityId: string | null }): Promise<void> {
    const all = await this.deps.memories.list(bucket.personalityId === null ? { userId: bucket.userId } : { userId: bucket.userId, personalityId: bucket.personalityId });
    const own = all.filter((m) => m.personalityId === bucket.personalityId);
    if (own.length <= this.deps.limits.maxItems) return;
    const leastUsed = [...own].sort((a, b) => (a.usedAt === b.usedAt ? a.createdAt.localeCompare(b.createdAt) : a.usedAt.localeCompare(b.usedAt)));
    await this.deps.memories.delete(leastUsed.slice(0, own.length - this.deps.limits.maxItems).map((m) => m.id));
  }

  #now(): string {
    return this.deps.now().toISOString();
  }
}

function checkText(text: string): string {
  const trimmed = text.trim();
  if (!hasVisibleCharacter(trimmed)) throw new ChatError('invalid_text', 'A memory needs at least one visible character.');
  if ([...trimmed].length > MAX_MEMORY_LENGTH) {
    throw new ChatError('message_too_long', `A memory is at most ${MAX_MEMORY_LENGTH} characters.`);
  }
  return trimmed;
}
