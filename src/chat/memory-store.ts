/** A short fact about a user that a personality keeps across sessions. */
export interface Memory {
  id: string;
  userId: string;
  /** The personality that keeps it; null: every personality. */
  personalityId: string | null;
  text: string;
  /** The session it was learnt in; null when the user wrote it. */
  sourceSessionId: string | null;
  createdAt: string;
  updatedAt: string;
  /** When it was last put before the model or stated again: the least recently used go first. */
  usedAt: string;
}

/** Which of a user's memories: those one personality keeps (its own and every personality's), or all. */
export type MemoryScope = { userId: string; personalityId?: string | undefined };

/** Durable memories; each store (sqlite, postgres, firebase) keeps them beside its sessions. */
export interface MemoryStore {
  /** The memories in scope, most recently updated first. */
  list(scope: MemoryScope): Promise<Memory[]>;
  get(id: string): Promise<Memory | null>;
  insert(memory: Memory): Promise<void>;
  /** The memory with its new text, or null when there is none with that id. */
  update(id: string, text: string, updatedAt: string): Promise<Memory | null>;
  /** Marks memories used now (they stay longest when the oldest are dropped). */
  touch(ids: readonly string[], usedAt: string): Promise<void>;
  /** Deletes these memories; how many there were. */
  delete(ids: readonly string[]): Promise<number>;
  /** Deletes every memory in scope; how many there were. */
  deleteAll(scope: MemoryScope): Promise<number>;
}
