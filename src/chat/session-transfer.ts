import { ChatError } from './errors.js';
import { checkMessageText } from './message-text.js';
import type { PersonalityService } from './personality-service.js';
import { assertSessionId, sessionNotFound, visibleTo } from './session-rules.js';
import type { Caller } from './session-types.js';
import type { Store } from './store.js';
import type { TokenCounter } from './token-count.js';
import type { Role, Session, StoredMessage } from './types.js';

/** Messages read per store call while exporting (each read costs its page, whatever the tree's size). */
const EXPORT_PAGE = 500;
/** The most messages one import may bring (BODY_LIMIT_BYTES bounds it first, unless raised a lot). */
export const MAX_IMPORT_MESSAGES = 10_000;

/** A whole session: its record, every message of its tree in seq order, and its active path. */
export interface SessionExport {
  session: Session;
  messages: StoredMessage[];
  /** The active path, first message first. */
  activePath: StoredMessage[];
}

/** A session as an import brings it: ids are the file's own, mapped to new ones. */
export interface SessionImport {
  templateId: string;
  title: string | null;
  messages: readonly { id: string; parentId: string | null; role: Role; content: string; createdAt: string }[];
  /** The file's active leaf; by default its last message. */
  activeId?: string | null | undefined;
}

function invalidImport(message: string): ChatError {
  return new ChatError('invalid_import', `This file cannot be imported: ${message}`);
}

/** Sessions out as a file and back in as new sessions, trees and all. */
export class SessionTransfer {
  constructor(
    private readonly deps: {
      store: Store;
      personalities: PersonalityService;
      now: () => Date;
      newId: () => string;
      countTokens: TokenCounter;
      maxMessageLength: number;
    },
  ) {}

  async export(sessionId: string, caller: Caller = {}): Promise<SessionExport> {
    assertSessionId(sessionId);
    const session = visibleTo(caller, await this.deps.store.getSession(sessionId));
    if (!session) throw sessionNotFound();
    const messages: StoredMessage[] = [];
    for (;;) {
      const page = await this.deps.store.readTree(sessionId, { limit: EXPORT_PAGE, afterSeq: messages.at(-1)?.seq ?? 0 });
      messages.push(...page);
      if (page.length < EXPORT_PAGE) break;
    }
    // The active path, up from its leaf: every message is at hand.
    const bySeq = new Map(messages.map((m) => [m.seq, m]));
    const activePath: StoredMessage[] = [];
    for (let m = session.activeSeq === null ? undefined : bySeq.get(session.activeSeq); m; m = m.parentSeq === null ? undefined : bySeq.get(m.parentSeq)) {
      activePath.push(m);
    }
    return { session, messages, activePath: activePath.reverse() };
  }

  /**
   * A new session holding the file's tree: message i gets id i + 1, parents follow, the file's
   * active path is the session's. The file is checked whole before `owner` is asked whom the
   * session is for (which may throw too) and before anything is written.
   */
  async import(file: SessionImport, owner: () => string): Promise<Session> {
    const resolved = await this.deps.personalities.resolve(file.templateId);
    if (!resolved) throw invalidImport(`there is no personality "${file.templateId}" on this server.`);
    if (file.messages.length > MAX_IMPORT_MESSAGES) throw invalidImport(`it holds more than ${MAX_IMPORT_MESSAGES} messages.`);
    const seqOf = new Map<string, number>();
    const exchangeOf = new Map<number, number>();
    const messages: StoredMessage[] = file.messages.map((m, i) => {
      const where = `message ${i + 1} (id "${m.id}")`;
      if (seqOf.has(m.id)) throw invalidImport(`${where} repeats an id.`);
      const parentSeq = m.parentId === null ? null : seqOf.get(m.parentId);
      if (parentSeq === undefined) throw invalidImport(`${where} follows "${m.parentId}", which is not a message before it.`);
      if (m.role === 'user') {
        try {
          checkMessageText(m.content, this.deps.maxMessageLength);
        } catch (error) {
          throw invalidImport(`${where}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      const seq = i + 1;
      seqOf.set(m.id, seq);
      exchangeOf.set(seq, (parentSeq === null ? 0 : exchangeOf.get(parentSeq)!) + (m.role === 'user' ? 1 : 0));
      return { seq, parentSeq, role: m.role, content: m.content, tokens: this.deps.countTokens(m.content), createdAt: m.createdAt, idempotencyKey: null, usage: null };
    });
    const activeSeq = file.activeId == null ? (messages.at(-1)?.seq ?? null) : seqOf.get(file.activeId);
    if (activeSeq === undefined) throw invalidImport(`the active message "${file.activeId}" is not one of its messages.`);
    const now = this.deps.now().toISOString();
    const session: Session = {
      id: this.deps.newId(),
      userId: owner(),
      templateId: file.templateId,
      systemPrompt: resolved.systemPrompt,
      status: 'active',
      createdAt: now,
      lastActivity: now,
      endedAt: null,
      messageCount: activeSeq === null ? 0 : exchangeOf.get(activeSeq)!,
      activeSeq,
      // Tokens this server's model spent: none yet.
      usage: { promptTokens: 0, completionTokens: 0 },
      memoryTokens: 0,
      title: file.title,
      summary: null,
    };
    await this.deps.store.importSession(session, messages);
    await this.deps.personalities.recordUse(file.templateId);
    return session;
  }
}
