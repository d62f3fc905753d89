import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { Store } from '../../chat/store.js';
import type { ConnectionStore, ConnectionListOptions } from '../../people/connection-store.js';
import type { Connection, ConnectionMessage, ConnectionSummary, NewConnectionMessage, StoredPushTarget } from '../../people/types.js';
import { messageFromRow, sessionFromRow, type MessageRow, type SessionRow } from '../sql-rows.js';
import type { NewMessage, Page, Personality, Session, SessionSummary, StoredMessage, UniversalRules } from '../../chat/types.js';
import { openConnection } from './connection.js';
import { SqliteConnectionQueries } from './connection-queries.js';
import { CHILDREN_OF, FIND_EXCHANGE, PATH_PAGE, READ_TREE } from './message-tree-sql.js';
import { migrate } from './migrations.js';
import { appendedMessages } from '../appended-messages.js';
import { seqCursor } from '../session-cursors.js';
import { ThreadWriter } from './thread-writer.js';
import { SqliteMemories } from './memory-sql.js';
import { InlineWriter } from './writer.js';
import type { AppendedExchange } from './writes.js';

export interface SqliteOptions {
  /** A file path, or ":memory:". */
  path: string;
  /** FULL survives power loss; NORMAL survives process crashes and is faster. */
  synchronous: 'FULL' | 'NORMAL';
}

const RULES_KEY = 'universal_rules';

/**
 * The default store: one SQLite file in WAL mode. Reads run on this thread with statements prepared
 * once; writes go to a writer thread that commits them in groups (see writer.ts), so the event loop
 * never waits for the disk; should that thread die, it is restarted (thread-writer.ts). Appending a
 * message costs the same at any history length.
 */
export class SqliteStore implements Store, ConnectionStore {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  readonly #sql: ReturnType<typeof prepareReads>;
  readonly #connections: SqliteConnectionQueries;
  readonly #writer: ThreadWriter | InlineWriter;
  readonly memories: SqliteMemories;

  constructor(options: SqliteOptions) {
    const inMemory = options.path === ':memory:';
    if (!inMemory) mkdirSync(dirname(options.path), { recursive: true });
    this.#db = openConnection(options.path, options.synchronous);
    migrate(this.#db);
    this.#sql = prepareReads(this.#db);
    this.#connections = new SqliteConnectionQueries(this.#db);
    this.#writer = inMemory ? new InlineWriter(this.#db) : new ThreadWriter(options.path, options.synchronous);
    this.memories = new SqliteMemories(this.#db, (op) => this.#writer.write(op));
  }

  /** Resolves when reads answer and writes can be made (the writer thread is up). */
  async ping(): Promise<void> {
    this.#sql.ping.get();
    if (this.#writer instanceof ThreadWriter) await this.#writer.ready();
  }

  /** The writer thread's keeper for a file database: its events tell when the thread stops and is back. */
  get writerThread(): ThreadWriter | null {
    return this.#writer instanceof ThreadWriter ? this.#writer : null;
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    await this.#writer.close();
    this.#db.close();
  }

  createSession(session: Session): Promise<void> {
    return this.#writer.write({ kind: 'createSession', session, messages: [] });
  }

  importSession(session: Session, messages: readonly StoredMessage[]): Promise<void> {
    return this.#writer.write({ kind: 'createSession', session, messages });
  }

  async getSession(id: string): Promise<Session | null> {
    const row = this.#sql.getSession.get(id) as SessionRow | undefined;
    return row ? sessionFromRow(row) : null;
  }

  async listSessions(userId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    const before = page.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(seqCursor(page.cursor));
    const rows = this.#sql.listSessions.all(userId, before, page.limit + 1) as SessionRow[];
    const hasMore = rows.length > page.limit;
    const items = (hasMore ? rows.slice(0, page.limit) : rows).map(sessionFromRow);
    return { items, nextCursor: hasMore ? String(rows[page.limit - 1]!.seq) : null };
  }

  setTitle(id: string, title: string, onlyIfUnset: boolean): Promise<boolean> {
    return this.#writer.write({ kind: 'setTitle', id, title, onlyIfUnset });
  }

  /** Through the FTS5 index: every word as a prefix (`"word"*`), all of them in one message or the title. */
  async searchSessions(userId: string, words: readonly string[], page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    const before = page.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(seqCursor(page.cursor));
    const match = words.map((w) => `"${w.replaceAll('"', '""')}"*`).join(' AND ');
    const rows = this.#sql.searchSessions.all(userId, before, match, page.limit + 1) as SessionRow[];
    const hasMore = rows.length > page.limit;
    const items = (hasMore ? rows.slice(0, page.limit) : rows).map(sessionFromRow);
    return { items, nextCursor: hasMore ? String(rows[page.limit - 1]!.seq) : null };
  }

  setSummary(id: string, summary: SessionSummary): Promise<boolean> {
    return this.#writer.write({ kind: 'setSummary', id, summary });
  }

  endSession(id: string, endedAt: string): Promise<boolean> {
    return this.#writer.write({ kind: 'endSession', id, endedAt });
  }

  async appendExchange(
    sessionId: string,
    messages: readonly NewMessage[],
    lastActivity: string,
    expectedLeaf?: number | null,
    parentSeq?: number | null,
  ): Promise<{ messages: StoredMessage[]; messageCount: number } | null> {
    const appended = await this.#writer.write<AppendedExchange | null>({
      kind: 'appendExchange',
      sessionId,
      messages,
      lastActivity,
      expectedLeaf: expectedLeaf === undefined ? null : (expectedLeaf ?? 0),
      parent: parentSeq === undefined ? 'active' : parentSeq,
    });
    if (!appended) return null;
    return {
      messages: appendedMessages(messages, appended.firstSeq, appended.parentSeq),
      messageCount: appended.messageCount,
    };
  }

  async readMessages(
    sessionId: string,
    page: { limit: number; beforeSeq?: number | undefined; leafSeq?: number | undefined },
  ): Promise<StoredMessage[]> {
    const rows = this.#sql.readPath.all({
      id: sessionId,
      leaf: page.leafSeq ?? null,
      before: page.beforeSeq ?? Number.MAX_SAFE_INTEGER,
      limit: page.limit,
    }) as MessageRow[];
    return rows.map(messageFromRow);
  }

  async childrenOf(sessionId: string, parentSeqs: readonly (number | null)[]): Promise<Map<number | null, number[]>> {
    const children = new Map<number | null, number[]>(parentSeqs.map((p) => [p, []]));
    if (parentSeqs.length === 0) return children;
    const rows = this.#sql.childrenOf.all({
      id: sessionId,
      parents: JSON.stringify(parentSeqs.filter((p) => p !== null)),
      roots: parentSeqs.includes(null) ? 1 : 0,
    }) as { parent_seq: number | null; seq: number }[];
    for (const row of rows) children.get(row.parent_seq)!.push(row.seq);
    return children;
  }

  async selectMessage(sessionId: string, seq: number): Promise<Session | null> {
    const row = await this.#writer.write<SessionRow | null>({ kind: 'selectMessage', sessionId, seq });
    return row ? sessionFromRow(row) : null;
  }

  async readTree(sessionId: string, page: { limit: number; afterSeq?: number | undefined }): Promise<StoredMessage[]> {
    return (this.#sql.readTree.all(sessionId, page.afterSeq ?? 0, page.limit) as MessageRow[]).map(messageFromRow);
  }

  async findExchange(sessionId: string, idempotencyKey: string) {
    const rows = this.#sql.findExchange.all(sessionId, idempotencyKey) as MessageRow[];
    if (rows.length === 0) return null;
    // The count right after it: the exchanges on the path down to its last message.
    return { messages: rows.map(messageFromRow), messageCount: rows.at(-1)!.exchange_no };
  }

  async userUsage(userId: string) {
    const row = this.#sql.userUsage.get(userId) as { sessions: number; prompt: number | null; completion: number | null; memory: number | null };
    return { sessions: row.sessions, promptTokens: row.prompt ?? 0, completionTokens: row.completion ?? 0, memoryTokens: row.memory ?? 0 };
  }

  async addMemoryTokens(id: string, tokens: number): Promise<void> {
    await this.#writer.write({ kind: 'addMemoryTokens', id, tokens });
  }

  async listPersonalities(): Promise<Personality[]> {
    return (this.#sql.listPersonalities.all() as { body: string }[]).map((r) => JSON.parse(r.body) as Personality);
  }

  async getPersonality(id: string): Promise<Personality | null> {
    const row = this.#sql.getPersonality.get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Personality) : null;
  }

  insertPersonality(personality: Personality): Promise<boolean> {
    return this.#writer.write({ kind: 'insertPersonality', personality });
  }

  replacePersonality(personality: Personality): Promise<boolean> {
    return this.#writer.write({ kind: 'replacePersonality', personality });
  }

  deletePersonality(id: string): Promise<boolean> {
    return this.#writer.write({ kind: 'deletePersonality', id });
  }

  incrementPersonalityUsage(id: string): Promise<void> {
    return this.#writer.write({ kind: 'incrementUsage', id });
  }

  async getUniversalRules(): Promise<UniversalRules | null> {
    const row = this.#sql.getSetting.get(RULES_KEY) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as UniversalRules) : null;
  }

  putUniversalRules(rules: UniversalRules): Promise<void> {
    return this.#writer.write({ kind: 'putSetting', key: RULES_KEY, value: rules });
  }

  // User-to-user chat: reads in connection-queries.ts, writes in connection-writes.ts.

  createConnection(connection: Connection): Promise<{ connection: Connection; created: boolean }> {
    return this.#writer.write({ kind: 'createConnection', connection });
  }

  async getConnection(id: string): Promise<Connection | null> {
    return this.#connections.get(id);
  }

  async listConnections(
    userId: string,
    options: ConnectionListOptions,
  ): Promise<ConnectionSummary[]> {
    return this.#connections.list(userId, options);
  }

  endConnection(id: string, endedAt: string): Promise<Connection | null> {
    return this.#writer.write({ kind: 'endConnection', id, endedAt });
  }

  appendConnectionMessage(
    connectionId: string,
    message: NewConnectionMessage,
  ): Promise<{ message: ConnectionMessage; replayed: boolean } | null> {
    return this.#writer.write({ kind: 'appendConnectionMessage', connectionId, message });
  }

  async readConnectionMessages(
    connectionId: string,
    page: { limit: number; after?: number | undefined; before?: number | undefined },
  ): Promise<ConnectionMessage[]> {
    return this.#connections.readMessages(connectionId, page);
  }

  markRead(connectionId: string, userId: string, upTo: number): Promise<Connection | null> {
    return this.#writer.write({ kind: 'markRead', connectionId, userId, upTo });
  }

  putPushTarget(target: StoredPushTarget): Promise<void> {
    return this.#writer.write({ kind: 'putPushTarget', target });
  }

  async listPushTargets(userId: string): Promise<StoredPushTarget[]> {
    return this.#connections.listPushTargets(userId);
  }

  removePushTarget(userId: string, id: string): Promise<boolean> {
    return this.#writer.write({ kind: 'removePushTarget', userId, id });
  }
}

function prepareReads(db: Database.Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    ping: s('SELECT 1'),
    getSession: s('SELECT * FROM sessions WHERE id = ?'),
    listSessions: s('SELECT * FROM sessions WHERE user_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    // The user filter is part of the query: another user's session never comes back.
    searchSessions: s(`SELECT * FROM sessions WHERE user_id = ? AND seq < ?
      AND seq IN (SELECT session_seq FROM session_search WHERE session_search MATCH ?) ORDER BY seq DESC LIMIT ?`),
    readPath: s(PATH_PAGE),
    childrenOf: s(CHILDREN_OF),
    readTree: s(READ_TREE),
    findExchange: s(FIND_EXCHANGE),
    userUsage: s(`SELECT COUNT(*) AS sessions, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(memory_tokens) AS memory
      FROM sessions WHERE user_id = ?`),
    listPersonalities: s('SELECT body FROM personalities ORDER BY seq'),
    getPersonality: s('SELECT body FROM personalities WHERE id = ?'),
    getSetting: s('SELECT body FROM settings WHERE key = ?'),
  };
}
