import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Statement } from 'better-sqlite3';
import type { Store } from '../../chat/store.js';
import type { NewMessage, Page, Personality, Session, StoredMessage, UniversalRules } from '../../chat/types.js';
import { GroupCommit } from './group-commit.js';
import { migrate } from './migrations.js';

interface SessionRow {
  seq: number;
  id: string;
  user_id: string;
  template_id: string;
  system_prompt: string;
  status: 'active' | 'ended';
  created_at: string;
  last_activity: string;
  ended_at: string | null;
  message_count: number;
}

interface MessageRow {
  seq: number;
  role: 'user' | 'assistant';
  content: string;
  tokens: number;
  created_at: string;
}

export interface SqliteOptions {
  /** A file path, or ":memory:". */
  path: string;
  /** FULL survives power loss; NORMAL survives process crashes and is faster. */
  synchronous: 'FULL' | 'NORMAL';
}

const RULES_KEY = 'universal_rules';

type ExchangeWrite = { messages: StoredMessage[]; messageCount: number };

/**
 * The default store: one SQLite file in WAL mode. Every statement is prepared once; appending a
 * message touches one session row and inserts at the end of one index, whatever the history length.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  readonly #sql: ReturnType<typeof prepareStatements>;
  readonly #writes: GroupCommit;

  constructor(options: SqliteOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.#db = new Database(options.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${options.synchronous}`);
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    migrate(this.#db);
    this.#sql = prepareStatements(this.#db);
    this.#writes = new GroupCommit(this.#db);
  }

  async ping(): Promise<void> {
    this.#sql.ping.get();
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    this.#writes.flushAll();
    this.#db.close();
  }

  async createSession(s: Session): Promise<void> {
    await this.#writes.write(() =>
      this.#sql.insertSession.run(
        s.id, s.userId, s.templateId, s.systemPrompt, s.status, s.createdAt, s.lastActivity, s.endedAt, s.messageCount,
      ),
    );
  }

  async getSession(id: string): Promise<Session | null> {
    const row = this.#sql.getSession.get(id) as SessionRow | undefined;
    return row ? toSession(row) : null;
  }

  async listSessions(userId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    const before = page.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(page.cursor);
    const rows = this.#sql.listSessions.all(userId, before, page.limit + 1) as SessionRow[];
    const hasMore = rows.length > page.limit;
    const items = (hasMore ? rows.slice(0, page.limit) : rows).map(toSession);
    return { items, nextCursor: hasMore ? String(rows[page.limit - 1]!.seq) : null };
  }

  endSession(id: string, endedAt: string): Promise<boolean> {
    return this.#writes.write(() => this.#sql.endSession.run(endedAt, endedAt, id).changes === 1);
  }

  appendExchange(sessionId: string, messages: readonly NewMessage[], lastActivity: string): Promise<ExchangeWrite | null> {
    const sql = this.#sql;
    return this.#writes.write(() => {
      const session = sql.countExchange.get(lastActivity, sessionId) as { seq: number; message_count: number } | undefined;
      if (!session) return null;
      const last = sql.lastMessageSeq.get(session.seq) as { seq: number };
      const stored = messages.map((m, i) => {
        const seq = last.seq + i + 1;
        sql.insertMessage.run(session.seq, seq, m.role, m.content, m.tokens, m.createdAt);
        return { ...m, seq };
      });
      return { messages: stored, messageCount: session.message_count };
    });
  }

  async readMessages(sessionId: string, page: { limit: number; beforeSeq?: number | undefined }): Promise<StoredMessage[]> {
    const rows = this.#sql.readMessages.all(sessionId, page.beforeSeq ?? Number.MAX_SAFE_INTEGER, page.limit) as MessageRow[];
    rows.reverse();
    return rows.map((r) => ({ seq: r.seq, role: r.role, content: r.content, tokens: r.tokens, createdAt: r.created_at }));
  }

  async listPersonalities(): Promise<Personality[]> {
    return (this.#sql.listPersonalities.all() as { body: string }[]).map((r) => JSON.parse(r.body) as Personality);
  }

  async getPersonality(id: string): Promise<Personality | null> {
    const row = this.#sql.getPersonality.get(id) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as Personality) : null;
  }

  insertPersonality(p: Personality): Promise<boolean> {
    return this.#writes.write(() => this.#sql.insertPersonality.run(p.id, JSON.stringify(p)).changes === 1);
  }

  replacePersonality(p: Personality): Promise<boolean> {
    return this.#writes.write(() => this.#sql.replacePersonality.run(JSON.stringify(p), p.id).changes === 1);
  }

  deletePersonality(id: string): Promise<boolean> {
    return this.#writes.write(() => this.#sql.deletePersonality.run(id).changes === 1);
  }

  async incrementPersonalityUsage(id: string): Promise<void> {
    await this.#writes.write(() => this.#sql.incrementUsage.run(id));
  }

  async getUniversalRules(): Promise<UniversalRules | null> {
    const row = this.#sql.getSetting.get(RULES_KEY) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as UniversalRules) : null;
  }

  async putUniversalRules(rules: UniversalRules): Promise<void> {
    await this.#writes.write(() => this.#sql.putSetting.run(RULES_KEY, JSON.stringify(rules)));
  }
}

function prepareStatements(db: Database.Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    ping: s('SELECT 1'),
    insertSession: s(`INSERT INTO sessions
      (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    getSession: s('SELECT * FROM sessions WHERE id = ?'),
    listSessions: s('SELECT * FROM sessions WHERE user_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    endSession: s(`UPDATE sessions SET status = 'ended', ended_at = ?, last_activity = ? WHERE id = ? AND status = 'active'`),
    countExchange: s(`UPDATE sessions SET message_count = message_count + 1, last_activity = ?
      WHERE id = ? AND status = 'active' RETURNING seq, message_count`),
    lastMessageSeq: s('SELECT COALESCE(MAX(seq), 0) AS seq FROM messages WHERE session_seq = ?'),
    insertMessage: s('INSERT INTO messages (session_seq, seq, role, content, tokens, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    readMessages: s(`SELECT seq, role, content, tokens, created_at FROM messages
      WHERE session_seq = (SELECT seq FROM sessions WHERE id = ?) AND seq < ? ORDER BY seq DESC LIMIT ?`),
    listPersonalities: s('SELECT body FROM personalities ORDER BY seq'),
    getPersonality: s('SELECT body FROM personalities WHERE id = ?'),
    insertPersonality: s(`INSERT INTO personalities (id, seq, body)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM personalities), ?) ON CONFLICT (id) DO NOTHING`),
    replacePersonality: s('UPDATE personalities SET body = ? WHERE id = ?'),
    deletePersonality: s('DELETE FROM personalities WHERE id = ?'),
    incrementUsage: s(`UPDATE personalities
      SET body = json_set(body, '$.usageCount', COALESCE(json_extract(body, '$.usageCount'), 0) + 1) WHERE id = ?`),
    getSetting: s('SELECT body FROM settings WHERE key = ?'),
    putSetting: s('INSERT INTO settings (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body'),
  };
}

function toSession(row: SessionRow): Session {
  return {
    id: row.id,
    userId: row.user_id,
    templateId: row.template_id,
    systemPrompt: row.system_prompt,
    status: row.status,
    createdAt: row.created_at,
    lastActivity: row.last_activity,
    endedAt: row.ended_at,
    messageCount: row.message_count,
  };
}
