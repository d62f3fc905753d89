import pg from 'pg';
import { ConnectionStoreDelegate } from '../connection-store-delegate.js';
import { ChatError } from '../../chat/errors.js';
import type { Store } from '../../chat/store.js';
import { messageFromRow, sessionFromRow, type MessageRow, type SessionRow } from '../sql-rows.js';
import type { NewMessage, Page, Personality, Session, SessionSummary, StoredMessage, UniversalRules } from '../../chat/types.js';
import { exchangeUsage } from '../exchange-usage.js';
import { appendedMessages, treeExchangeNumbers } from '../appended-messages.js';
import { seqCursor } from '../session-cursors.js';
import { APPEND_EXCHANGE, CHILDREN_OF, FIND_EXCHANGE, IMPORT_SESSION, PATH_PAGE, READ_TREE, SELECT_MESSAGE } from './message-tree-sql.js';
import { migrate } from './migrations.js';
import { PostgresConnections } from './postgres-connections.js';
import { PostgresMemories } from './postgres-memories.js';

export interface PostgresOptions {
  connectionString: string;
  /** Most connections this instance opens. */
  poolMax: number;
  /** How long an unused connection stays open, in ms. */
  idleTimeoutMs: number;
  /** How long to wait for a connection before failing the request, in ms. */
  connectionTimeoutMs: number;
}

const RULES_KEY = 'universal_rules';

/**
 * PostgreSQL, for many instances on one database. Every change is one statement (atomic on its own),
 * so concurrent writers on different instances cannot interleave halfway.
 */
export class PostgresStore extends ConnectionStoreDelegate implements Store {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  /** User-to-user chat, in postgres-connections.ts. */
  protected readonly connections: PostgresConnections;
  readonly memories: PostgresMemories;

  private constructor(pool: pg.Pool) {
    super();
    this.#pool = pool;
    this.connections = new PostgresConnections((text, values) => this.#query(text, values));
    this.memories = new PostgresMemories((text, values) => this.#query(text, values));
  }

  /** Connects and brings the schema up to date (one instance at a time). */
  static async open(options: PostgresOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolMax,
      idleTimeoutMillis: options.idleTimeoutMs,
      connectionTimeoutMillis: options.connectionTimeoutMs,
    });
    // An idle connection the server drops must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    try {
      await migrate(pool);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresStore(pool);
  }

  /** Every query goes through here: losing the database is a 503 for the client, not a 500. */
  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      if (isConnectionError(error)) {
        throw new ChatError('store_unavailable', 'The database does not answer; please retry shortly.', { cause: error });
      }
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  async createSession(s: Session): Promise<void> {
    await this.#query(
      `INSERT INTO sessions (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [s.id, s.userId, s.templateId, s.systemPrompt, s.status, s.createdAt, s.lastActivity, s.endedAt, s.messageCount],
    );
  }

  async importSession(s: Session, messages: readonly StoredMessage[]): Promise<void> {
    await this.#query(IMPORT_SESSION, [
      s.id, s.userId, s.templateId, s.systemPrompt, s.status, s.createdAt, s.lastActivity, s.endedAt, s.messageCount, s.activeSeq ?? 0,
      s.title, messages.length,
      messages.map((m) => m.seq),
      messages.map((m) => m.parentSeq),
      treeExchangeNumbers(messages),
      messages.map((m) => m.role),
      messages.map((m) => m.content),
      messages.map((m) => m.tokens),
      messages.map((m) => m.createdAt),
    ]);
  }

  async setSummary(id: string, summary: SessionSummary): Promise<boolean> {
    const { rowCount } = await this.#query('UPDATE sessions SET summary = $2, summary_seq = $3 WHERE id = $1', [id, summary.text, summary.throughSeq]);
    return rowCount === 1;
  }

  async getSession(id: string): Promise<Session | null> {
    const { rows } = await this.#query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id]);
    return rows[0] ? sessionFromRow(rows[0]) : null;
  }

  async listSessions(userId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    const { rows } = await this.#query<SessionRow>(
      'SELECT * FROM sessions WHERE user_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3',
      [userId, page.cursor === undefined ? '9223372036854775807' : seqCursor(page.cursor), page.limit + 1],
    );
    const hasMore = rows.length > page.limit;
    const items = (hasMore ? rows.slice(0, page.limit) : rows).map(sessionFromRow);
    return { items, nextCursor: hasMore ? String(rows[page.limit - 1]!.seq) : null };
  }

  async setTitle(id: string, title: string, onlyIfUnset: boolean): Promise<boolean> {
    const { rowCount } = await this.#query('UPDATE sessions SET title = $2 WHERE id = $1 AND (NOT $3 OR title IS NULL)', [id, title, onlyIfUnset]);
    return rowCount === 1;
  }

  /** Through the GIN indexes: every word as a prefix (`'word':*`), all of them in one message or the title. */
  async searchSessions(userId: string, words: readonly string[], page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    const query = words.map((w) => `'${w.replaceAll("'", "''")}':*`).join(' & ');
    const { rows } = await this.#query<SessionRow>(
      `SELECT s.* FROM sessions s, to_tsquery('simple', $3) q
       WHERE s.user_id = $1 AND s.seq < $2
         AND (to_tsvector('simple', COALESCE(s.title, '')) @@ q
           OR s.seq IN (SELECT m.session_seq FROM messages m WHERE to_tsvector('simple', m.content) @@ q))
       ORDER BY s.seq DESC LIMIT $4`,
      [userId, page.cursor === undefined ? '9223372036854775807' : seqCursor(page.cursor), query, page.limit + 1],
    );
    const hasMore = rows.length > page.limit;
    const items = (hasMore ? rows.slice(0, page.limit) : rows).map(sessionFromRow);
    return { items, nextCursor: hasMore ? String(rows[page.limit - 1]!.seq) : null };
  }

  async endSession(id: string, endedAt: string): Promise<boolean> {
    const result = await this.#query(
      `UPDATE sessions SET status = 'ended', ended_at = $2, last_activity = $2 WHERE id = $1 AND status = 'active'`,
      [id, endedAt],
    );
    return result.rowCount === 1;
  }

  async appendExchange(
    sessionId: string,
    messages: readonly NewMessage[],
    lastActivity: string,
    expectedLeaf?: number | null,
    parentSeq?: number | null,
  ) {
    const usage = exchangeUsage(messages);
    const { rows } = await this.#query<{ message_count: number; first_seq: number; parent_seq: number | null }>(APPEND_EXCHANGE, [
      sessionId,
      lastActivity,
      messages.map((m) => m.role),
      messages.map((m) => m.content),
      messages.map((m) => m.tokens),
      messages.map((m) => m.createdAt),
      expectedLeaf === undefined ? null : (expectedLeaf ?? 0),
      usage.promptTokens,
      usage.completionTokens,
      messages.map((m) => m.idempotencyKey ?? null),
      messages.map((m) => m.usage?.promptTokens ?? null),
      messages.map((m) => m.usage?.completionTokens ?? null),
      parentSeq === undefined,
      parentSeq ?? null,
    ]);
    const row = rows[0];
    if (!row) return null;
    return { messages: appendedMessages(messages, row.first_seq, row.parent_seq), messageCount: row.message_count };
  }

  async readMessages(
    sessionId: string,
    page: { limit: number; beforeSeq?: number | undefined; leafSeq?: number | undefined },
  ): Promise<StoredMessage[]> {
    const { rows } = await this.#query<MessageRow>(PATH_PAGE, [sessionId, page.beforeSeq ?? 2_147_483_647, page.limit, page.leafSeq ?? null]);
    return rows.map(messageFromRow);
  }

  async childrenOf(sessionId: string, parentSeqs: readonly (number | null)[]): Promise<Map<number | null, number[]>> {
    const children = new Map<number | null, number[]>(parentSeqs.map((p) => [p, []]));
    if (parentSeqs.length === 0) return children;
    const { rows } = await this.#query<{ parent_seq: number | null; seq: number }>(CHILDREN_OF, [
      sessionId,
      parentSeqs.filter((p) => p !== null),
      parentSeqs.includes(null),
    ]);
    for (const row of rows) children.get(row.parent_seq)!.push(row.seq);
    return children;
  }

  async selectMessage(sessionId: string, seq: number): Promise<Session | null> {
    const { rows } = await this.#query<SessionRow>(SELECT_MESSAGE, [sessionId, seq]);
    return rows[0] ? sessionFromRow(rows[0]) : null;
  }

  async readTree(sessionId: string, page: { limit: number; afterSeq?: number | undefined }): Promise<StoredMessage[]> {
    const { rows } = await this.#query<MessageRow>(READ_TREE, [sessionId, page.afterSeq ?? 0, page.limit]);
    return rows.map(messageFromRow);
  }

  async findExchange(sessionId: string, idempotencyKey: string) {
    const { rows } = await this.#query<MessageRow>(FIND_EXCHANGE, [sessionId, idempotencyKey]);
    if (rows.length === 0) return null;
    // The count right after it: the exchanges on the path down to its last message.
    return { messages: rows.map(messageFromRow), messageCount: rows.at(-1)!.exchange_no };
  }

  async userUsage(userId: string) {
    const { rows } = await this.#query<{ sessions: string; prompt: string | null; completion: string | null; memory: string | null }>(
      `SELECT COUNT(*) AS sessions, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(memory_tokens) AS memory
         FROM sessions WHERE user_id = $1`,
      [userId],
    );
    const row = rows[0]!;
    return {
      sessions: Number(row.sessions),
      promptTokens: Number(row.prompt ?? 0),
      completionTokens: Number(row.completion ?? 0),
      memoryTokens: Number(row.memory ?? 0),
    };
  }

  async addMemoryTokens(id: string, tokens: number): Promise<void> {
    await this.#query('UPDATE sessions SET memory_tokens = memory_tokens + $2 WHERE id = $1', [id, tokens]);
  }

  async listPersonalities(): Promise<Personality[]> {
    const { rows } = await this.#query<{ body: Personality }>('SELECT body FROM personalities ORDER BY seq');
    return rows.map((r) => r.body);
  }

  async getPersonality(id: string): Promise<Personality | null> {
    const { rows } = await this.#query<{ body: Personality }>('SELECT body FROM personalities WHERE id = $1', [id]);
    return rows[0]?.body ?? null;
  }

  async insertPersonality(p: Personality): Promise<boolean> {
    const result = await this.#query('INSERT INTO personalities (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
      p.id,
      JSON.stringify(p),
    ]);
    return result.rowCount === 1;
  }

  async replacePersonality(p: Personality): Promise<boolean> {
    const result = await this.#query('UPDATE personalities SET body = $2 WHERE id = $1', [p.id, JSON.stringify(p)]);
    return result.rowCount === 1;
  }

  async deletePersonality(id: string): Promise<boolean> {
    return (await this.#query('DELETE FROM personalities WHERE id = $1', [id])).rowCount === 1;
  }

  async incrementPersonalityUsage(id: string): Promise<void> {
    await this.#query(
      `UPDATE personalities
          SET body = jsonb_set(body, '{usageCount}', to_jsonb(COALESCE((body->>'usageCount')::int, 0) + 1))
        WHERE id = $1`,
      [id],
    );
  }

  async getUniversalRules(): Promise<UniversalRules | null> {
    const { rows } = await this.#query<{ body: UniversalRules }>('SELECT body FROM settings WHERE key = $1', [RULES_KEY]);
    return rows[0]?.body ?? null;
  }

  async putUniversalRules(rules: UniversalRules): Promise<void> {
    await this.#query(
      'INSERT INTO settings (key, body) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET body = excluded.body',
      [RULES_KEY, JSON.stringify(rules)],
    );
  }

}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', '57P01', '57P02', '57P03']);

function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code ?? '';
  return (
    CONNECTION_CODES.has(code) ||
    code.startsWith('08') ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(error.message)
  );
}
