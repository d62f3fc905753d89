import type { Database, Statement } from 'better-sqlite3';
import type { NewMessage, Personality, Session, UniversalRules } from '../../chat/types.js';
import { exchangeUsage } from '../exchange-usage.js';
import { applyConnectionWrite, prepareConnectionWrites, type ConnectionWriteOp } from './connection-writes.js';

/** Every change the SQLite store makes, as data, so it can cross to the writer thread. */
export type WriteOp =
  | { kind: 'createSession'; session: Session }
  | { kind: 'endSession'; id: string; endedAt: string }
  | { kind: 'setTitle'; id: string; title: string; onlyIfUnset: boolean }
  | {
      kind: 'appendExchange';
      sessionId: string;
      messages: readonly NewMessage[];
      lastActivity: string;
      expectedMessageCount: number | null;
    }
  | { kind: 'insertPersonality'; personality: Personality }
  | { kind: 'replacePersonality'; personality: Personality }
  | { kind: 'deletePersonality'; id: string }
  | { kind: 'incrementUsage'; id: string }
  | { kind: 'putSetting'; key: string; value: UniversalRules }
  | ConnectionWriteOp;

/** What the writer reports back for an exchange: the messages' seqs start at `firstSeq` (their text stays where it came from). */
export type AppendedExchange = { firstSeq: number; messageCount: number };

export type WriteOutcome = { ok: true; value: unknown } | { ok: false; error: string };

type Statements = ReturnType<typeof prepareWrites>;

export function prepareWrites(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    insertSession: s(`INSERT INTO sessions
      (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    endSession: s(`UPDATE sessions SET status = 'ended', ended_at = ?, last_activity = ? WHERE id = ? AND status = 'active'`),
    setTitle: s('UPDATE sessions SET title = @title WHERE id = @id AND (@onlyIfUnset = 0 OR title IS NULL)'),
    countExchange: s(`UPDATE sessions SET message_count = message_count + 1, last_activity = @lastActivity,
        prompt_tokens = prompt_tokens + @promptTokens, completion_tokens = completion_tokens + @completionTokens
      WHERE id = @id AND status = 'active' AND (@expected IS NULL OR message_count = @expected)
      RETURNING seq, message_count`),
    lastMessageSeq: s('SELECT COALESCE(MAX(seq), 0) AS seq FROM messages WHERE session_seq = ?'),
    insertMessage: s(`INSERT INTO messages
      (session_seq, seq, role, content, tokens, created_at, idempotency_key, prompt_tokens, completion_tokens)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertPersonality: s(`INSERT INTO personalities (id, seq, body)
      VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM personalities), ?) ON CONFLICT (id) DO NOTHING`),
    replacePersonality: s('UPDATE personalities SET body = ? WHERE id = ?'),
    deletePersonality: s('DELETE FROM personalities WHERE id = ?'),
    incrementUsage: s(`UPDATE personalities
      SET body = json_set(body, '$.usageCount', COALESCE(json_extract(body, '$.usageCount'), 0) + 1) WHERE id = ?`),
    putSetting: s('INSERT INTO settings (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body'),
    connections: prepareConnectionWrites(db),
  };
}

function apply(sql: Statements, op: WriteOp): unknown {
  switch (op.kind) {
    case 'createSession': {
      const s = op.session;
      sql.insertSession.run(s.id, s.userId, s.templateId, s.systemPrompt, s.status, s.createdAt, s.lastActivity, s.endedAt, s.messageCount);
      return undefined;
    }
    case 'endSession':
      return sql.endSession.run(op.endedAt, op.endedAt, op.id).changes === 1;
    case 'setTitle':
      return sql.setTitle.run({ id: op.id, title: op.title, onlyIfUnset: op.onlyIfUnset ? 1 : 0 }).changes === 1;
    case 'appendExchange': {
      // One session row and the end of one index are touched, whatever the history length.
      const usage = exchangeUsage(op.messages);
      const session = sql.countExchange.get({
        lastActivity: op.lastActivity,
        id: op.sessionId,
        expected: op.expectedMessageCount,
        ...usage,
      }) as
        | { seq: number; message_count: number }
        | undefined;
      if (!session) return null;
      const firstSeq = (sql.lastMessageSeq.get(session.seq) as { seq: number }).seq + 1;
      op.messages.forEach((m, i) => {
        sql.insertMessage.run(
          session.seq, firstSeq + i, m.role, m.content, m.tokens, m.createdAt,
          m.idempotencyKey ?? null, m.usage?.promptTokens ?? null, m.usage?.completionTokens ?? null,
        );
      });
      return { firstSeq, messageCount: session.message_count } satisfies AppendedExchange;
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
      return applyConnectionWrite(sql.connections, op);
  }
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
