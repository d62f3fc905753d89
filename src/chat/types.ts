/** The chat domain's data, independent of any transport or database. */

export type Role = 'user' | 'assistant';
export type SessionStatus = 'active' | 'ended';

export interface Session {
  id: string;
  userId: string;
  templateId: string;
  /** The system prompt composed when the session started; used if its personality is later deleted. */
  systemPrompt: string;
  status: SessionStatus;
  createdAt: string;
  lastActivity: string;
  endedAt: string | null;
  /** Completed exchanges (user message + reply) on the active path. */
  messageCount: number;
  /** The seq of the active path's last message (the active leaf); null before the first message. */
  activeSeq: number | null;
  /** Tokens the model reported for this session's replies, summed. */
  usage: TokenUsage;
  /** Tokens the housekeeping model (titles, summaries, memories) reported for this session. */
  memoryTokens: number;
  /** A short name: made after the first exchange, or set by the user; null until then. */
  title: string | null;
  /** What left the context window, summarised; for the path through `throughSeq` only. */
  summary: SessionSummary | null;
}

/** A rolling summary of a conversation's start: the messages of a path up to and including `throughSeq`. */
export interface SessionSummary {
  text: string;
  throughSeq: number;
}

/** Tokens as the model reports them for one call (or summed over many). */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface NewMessage {
  role: Role;
  content: string;
  /** Tokens of `content`, counted once when the message is first seen. */
  tokens: number;
  createdAt: string;
  /** On a user message: the client's Idempotency-Key, so a retry finds this exchange. */
  idempotencyKey?: string | null | undefined;
  /** On a reply: what the model reported it used, when it did. */
  usage?: TokenUsage | null | undefined;
}

export interface StoredMessage extends NewMessage {
  /** Position in the session, 1-based, strictly increasing in the order messages were stored (whatever their branch). */
  seq: number;
  /** The seq of the message this one follows in the session's tree: null for a first message. */
  parentSeq: number | null;
}

/** Model settings a personality carries; what the model receives. */
export interface ModelSettings {
  model: string;
  temperature: number;
  maxTokens: number;
  presencePenalty: number;
  frequencyPenalty: number;
}

export interface Personality extends ModelSettings {
  id: string;
  name: string;
  title: string;
  description: string;
  category: string;
  personalityPrompt: string;
  welcomeMessage: string;
  tags: string[];
  isPublic: boolean;
  /** Cannot be deleted while set; the shipped personalities start with it, clients may set and clear it. */
  isDefault: boolean;
  /** Whether it keeps what it learns about a user across sessions (long-term memory). */
  memory: boolean;
  usageCount: number;
  createdAt: string;
  updatedAt: string;
}

/** Fields a client may set on a personality. */
export type PersonalityInput = Omit<Personality, 'id' | 'usageCount' | 'createdAt' | 'updatedAt'>;

export interface UniversalRules {
  rules: string;
  version: number;
  enabled: boolean;
  updatedAt: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next (older) page, or null when this is the last one. */
  nextCursor: string | null;
}
