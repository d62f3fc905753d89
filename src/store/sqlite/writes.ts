import type { Database, Statement } from 'better-sqlite3';
import type { NewMessage, Personality, Session, SessionSummary, StoredMessage, UniversalRules } from '../../chat/types.js';
import { exchangeNumbers, treeExchangeNumbers } from '../appended-messages.js';
import { exchangeUsage } from '../exchange-usage.js';
import type { SessionRow } from '../sql-rows.js';
import { applyConnectionWrite, prepareConnectionWrites, type ConnectionWriteOp } from './connection-writes.js';
import { applyMemoryWrite, isMemoryWrite, prepareMemoryWrites, type MemoryWriteOp } from './memory-sql.js';

/** Every change the SQLite store makes, as data, so it can cross to the writer thread. */
export type WriteOp =
  /** A new session; an import brings its whole tree (`messages` in seq order). */
  | { kind: 'createSession'; session: Session; messages: readonly StoredMessage[] }
  | { kind: 'endSession'; id: string; endedAt: string }
  | { kind: 'setTitle'; id: string; title: string; onlyIfUnset: boolean }
  | { kind: 'setSummary'; id: string; summary: SessionSummary }
  | { kind: 'addMemoryTokens'; id: string; tokens: number }
  | {
      kind: 'appendExchange';
      sessionId: string;
      messages: readonly NewMessage[];
      lastActivity: string;
      /** The active leaf the exchange was built on (0: none), or null for no check. */
      expectedLeaf: number | null;
      /** The message the first one follows: 'active' for the session's active leaf, null for none. */
      parent: number | null | 'active';
    }
  | { kind: 'selectMessage'; sessionId: string; seq: number }
  | { kind: 'insertPersonality'; personality: Personality }
  | { kind: 'replacePersonality'; personality: Personality }
  | { kind: 'deletePersonality'; id: string }
  | { kind: 'incrementUsage'; id: string }
  | { kind: 'putSetting'; key: string; value: UniversalRules }
  | ConnectionWriteOp
  | MemoryWriteOp;

/**
 * What the writer reports back for an exchange: the messages' seqs start at `firstSeq` and the first
 * follows `parentSeq` (their text stays where it came from).
 */
export type AppendedExchange = { firstSeq: number; parentSeq: number | null; messageCount: number };

export type WriteOutcome = { ok: true; value: unknown } | { ok: false; error: string };

type Statements = ReturnType<typeof prepareWrites>;

export function prepareWrites(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    insertSession: s(`INSERT INTO sessions
      (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count, active_seq, title)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      RETURNING seq`),
    endSession: s(`UPDATE sessions SET status = 'ended', ended_at = ?, last_activity = ? WHERE id = ? AND status = 'active'`),
    setTitle: s('UPDATE sessions SET title = @title WHERE id = @id AND (@onlyIfUnset = 0 OR title IS NULL)'),
    setSummary: s('UPDATE sessions SET summary = ?, summary_seq = ? WHERE id = ?'),
    addMemoryTokens: s('UPDATE sessions SET memory_tokens = memory_tokens + ? WHERE id = ?'),
    appendTarget: s(`SELECT seq, message_count, active_seq FROM sessions
      WHERE id = @id AND status = 'active' AND (@expected IS NULL OR active_seq = @expected)`),
    exchangeOf: s('SELECT exchange_no FROM messages WHERE session_seq = ? AND seq = ?'),
    countExchange: s(`UPDATE sessions SET message_count = @messageCount, active_seq = @activeSeq, last_activity = @lastActivity,
        prompt_tokens = prompt_tokens + @promptTokens, completion_tokens = completion_tokens + @completionTokens
      WHERE seq = @seq`),
    lastMessageSeq: s('SELECT COALESCE(MAX(seq), 0) AS seq FROM messages WHERE session_seq = ?'),
    insertMessage: s(`INSERT INTO messages
      (session_seq, seq, parent_seq, exchange_no, role, content, tokens, created_at, idempotency_key, prompt_tokens, completion_tokens)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    // Down from the chosen message along the newest child at each step: the deepest is the new leaf.
    selectLeaf: s(`WITH RECURSIVE down (seq) AS (
        SELECT seq FROM messages WHERE session_seq = @session AND seq = @seq
        UNION ALL
        SELECT (SELECT MAX(c.seq) FROM messages c WHERE c.session_seq = @session AND c.parent_seq = down.seq)
          FROM down WHERE down.seq IS NOT NULL
      )
      SELECT m.seq, m.exchange_no FROM messages m WHERE m.session_seq = @session AND m.seq = (SELECT MAX(seq) FROM down)`),
    activeSession: s(`SELECT seq FROM sessions WHERE id = ? AND status = 'active'`),
    selectPath: s('UPDATE sessions SET active_seq = @leaf, message_count = @messageCount WHERE seq = @session RETURNING *'),
    insertPersonality: s(`INSERT INTO personalities (id, seq, body)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM personalities), ?) ON CONFLICT (id) DO NOTHING`),
    replacePersonality: s('UPDATE personalities SET body = ? WHERE id = ?'),
    deletePersonality: s('DELETE FROM personalities WHERE id = ?'),
    incrementUsage: s(`UPDATE personalities
      SET body = json_set(body, '$.usageCount', COALESCE(json_extract(body, '$.usageCount'), 0) + 1) WHERE id = ?`),
    putSetting: s('INSERT INTO settings (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body'),
    connections: prepareConnectionWrites(db),
    memories: prepareMemoryWrites(db),
  };
}

function apply(sql: Statements, op: WriteOp): unknown {
  switch (op.kind) {
    case 'createSession': {
      const s = op.session;
      const { seq } = sql.insertSession.get(
        s.id, s.userId, s.templateId, s.systemPrompt, s.status, s.createdAt, s.lastActivity, s.endedAt, s.messageCount, s.activeSeq ?? 0, s.title,
      ) as { seq: number };
      const exchanges = treeExchangeNumbers(op.messages);
      op.messages.forEach((m, i) => {
        sql.insertMessage.run(
          seq, m.seq, m.parentSeq, exchanges[i], m.role, m.content, m.tokens, m.createdAt,
          m.idempotencyKey ?? null, m.usage?.promptTokens ?? null, m.usage?.completionTokens ?? null,
        );
      });
      return undefined;
    }
    case 'endSession':
      return sql.endSession.run(op.endedAt, op.endedAt, op.id).changes === 1;
    case 'setTitle':
      return sql.setTitle.run({ id: op.id, title: op.title, onlyIfUnset: op.onlyIfUnset ? 1 : 0 }).changes === 1;
    case 'addMemoryTokens':
      sql.addMemoryTokens.run(op.tokens, op.id);
      return undefined;
    case 'setSummary':
      return sql.setSummary.run(op.summary.text, op.summary.throughSeq, op.id).changes === 1;
    case 'appendExchange':
      return appendExchange(sql, op);
    case 'selectMessage': {
      const session = sql.activeSession.get(op.sessionId) as { seq: number } | undefined;
      if (!session) return null;
      const leaf = sql.selectLeaf.get({ session: session.seq, seq: op.seq }) as { seq: number; exchange_no: number } | undefined;
      if (!leaf) return null;
      return sql.selectPath.get({ session: session.seq, leaf: leaf.seq, messageCount: leaf.exchange_no }) as SessionRow;
    }
    case 'insertPersonality':
      return sql.insertPersonality.run(op.personality.id, JSON.stringify(op.personality)).changes === 1;
    case 'replacePersonality':
      return sql.replacePersonality.run(JSON.stringify(op.personality), op.personality.id).changes === 1;
    case 'deletePersonality':
      return sql.deletePersonality.run(op.id).changes === 1;
    case 'incrementUsage':
      sql.incrementUsage.run(op.id);
      return undefined;
    case 'putSetting':
      sql.putSetting.run(op.key, JSON.stringify(op.value));
      return undefined;
    default:
      return isMemoryWrite(op) ? applyMemoryWrite(sql.memories, op) : applyConnectionWrite(sql.connections, op);
  }
}

/** One session row, a few primary-key lookups and the end of one index are touched, whatever the tree's size. */
function appendExchange(sql: Statements, op: Extract<WriteOp, { kind: 'appendExchange' }>): AppendedExchange | null {
  const session = sql.appendTarget.get({ id: op.sessionId, expected: op.expectedLeaf }) as
    | { seq: number; message_count: number; active_seq: number }
    | undefined;
  if (!session) return null;
  // The active leaf's exchange number is the session's message count.
  let parentSeq: number | null = null;
  let parentExchange = 0;
  if (op.parent === 'active') {
    parentSeq = session.active_seq === 0 ? null : session.active_seq;
    parentExchange = session.message_count;
  } else if (op.parent !== null) {
    const parent = sql.exchangeOf.get(session.seq, op.parent) as { exchange_no: number } | undefined;
    if (!parent) return null;
    parentSeq = op.parent;
    parentExchange = parent.exchange_no;
  }
  const firstSeq = (sql.lastMessageSeq.get(session.seq) as { seq: number }).seq + 1;
  const exchanges = exchangeNumbers(op.messages, parentExchange);
  op.messages.forEach((m, i) => {
    sql.insertMessage.run(
      session.seq, firstSeq + i, i === 0 ? parentSeq : firstSeq + i - 1, exchanges[i], m.role, m.content, m.tokens, m.createdAt,
      m.idempotencyKey ?? null, m.usage?.promptTokens ?? null, m.usage?.completionTokens ?? null,
    );
  });
  const messageCount = exchanges.at(-1) ?? parentExchange;
  sql.countExchange.run({
    seq: session.seq,
    messageCount,
    activeSeq: op.messages.length === 0 ? (parentSeq ?? 0) : firstSeq + op.messages.length - 1,
    lastActivity: op.lastActivity,
    ...exchangeUsage(op.messages),
  });
  return { firstSeq, parentSeq, messageCount };
}

/**
 * Commits a batch of writes in one transaction (one fsync for all of them). Each write runs in its
 * own savepoint, so one failing write does not undo the others. Throws if the commit itself fails,
 * in which case nothing of the batch is durable.
 */
export function commitBatch(db: Database, sql: Statements, ops: readonly WriteOp[]): WriteOutcome[] {
  const outcomes: WriteOutcome[] = [];
  db.transaction(() => {
    for (const op of ops) {
      try {
        outcomes.push({ ok: true, value: db.transaction(() => apply(sql, op))() });
      } catch (error) {
        outcomes.push({ ok: false, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }).immediate();
  return outcomes;
}
