import type { Database, Statement } from 'better-sqlite3';
import type { Connection, ConnectionMessage, NewConnectionMessage, StoredPushTarget } from '../../people/types.js';
import {
  connectionFromRow,
  connectionMessageFromRow,
  pairColumns,
  type ConnectionMessageRow,
  type ConnectionRow,
} from '../sql-rows.js';

/** The user-to-user chat writes, as data for the writer thread (see writes.ts). */
export type ConnectionWriteOp =
  | { kind: 'createConnection'; connection: Connection }
  | { kind: 'endConnection'; id: string; endedAt: string }
  | { kind: 'appendConnectionMessage'; connectionId: string; message: NewConnectionMessage }
  | { kind: 'markRead'; connectionId: string; userId: string; upTo: number }
  | { kind: 'putPushTarget'; target: StoredPushTarget }
  | { kind: 'removePushTarget'; userId: string; id: string };

type Statements = ReturnType<typeof prepareConnectionWrites>;

export function prepareConnectionWrites(db: Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    activeForPair: s(`SELECT * FROM connections WHERE pair_low = ? AND pair_high = ? AND status = 'active'`),
    insertConnection: s(`INSERT INTO connections
      (id, user1_id, user2_id, pair_low, pair_high, status, created_at, ended_at, last_activity,
       last_seq, user1_read_up_to, user2_read_up_to)
      VALUES (@id, @user1Id, @user2Id, @pairLow, @pairHigh, @status, @createdAt, @endedAt, @lastActivity,
       @lastSeq, @user1ReadUpTo, @user2ReadUpTo)`),
    endConnection: s(`UPDATE connections SET status = 'ended', ended_at = ? WHERE id = ? AND status = 'active' RETURNING *`),
    messageByKey: s('SELECT * FROM connection_messages WHERE connection_id = ? AND idempotency_key = ?'),
    // Right-hand sides see the row before the update, so `last_seq + 1` is the new message's seq.
    takeSeq: s(`UPDATE connections SET
        last_seq = last_seq + 1,
        last_activity = @timestamp,
        user1_read_up_to = CASE WHEN user1_id = @senderId THEN last_seq + 1 ELSE user1_read_up_to END,
        user2_read_up_to = CASE WHEN user2_id = @senderId THEN last_seq + 1 ELSE user2_read_up_to END
      WHERE id = @connectionId AND status = 'active'
      RETURNING last_seq`),
    insertMessage: s(`INSERT INTO connection_messages (connection_id, seq, id, sender_id, content, timestamp, idempotency_key)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    markRead: s(`UPDATE connections SET
        user1_read_up_to = CASE WHEN user1_id = @userId THEN MAX(user1_read_up_to, MIN(@upTo, last_seq)) ELSE user1_read_up_to END,
        user2_read_up_to = CASE WHEN user2_id = @userId THEN MAX(user2_read_up_to, MIN(@upTo, last_seq)) ELSE user2_read_up_to END
      WHERE id = @connectionId AND @userId IN (user1_id, user2_id)
      RETURNING *`),
    putPushTarget: s(`INSERT INTO push_targets (user_id, id, target, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (user_id, id) DO UPDATE SET target = excluded.target, created_at = excluded.created_at`),
    removePushTarget: s('DELETE FROM push_targets WHERE user_id = ? AND id = ?'),
    removePushTargetOfOthers: s('DELETE FROM push_targets WHERE id = ? AND user_id <> ?'),
  };
}

/** Runs one write inside the batch's transaction; the single writer makes check-then-write safe. */
export function applyConnectionWrite(sql: Statements, op: ConnectionWriteOp): unknown {
  switch (op.kind) {
    case 'createConnection': {
      const c = op.connection;
      const pair = pairColumns(c);
      const existing = sql.activeForPair.get(pair.pairLow, pair.pairHigh) as ConnectionRow | undefined;
      if (existing) return { connection: connectionFromRow(existing), created: false };
      sql.insertConnection.run({ ...c, ...pair });
      return { connection: c, created: true };
    }
    case 'endConnection': {
      const row = sql.endConnection.get(op.endedAt, op.id) as ConnectionRow | undefined;
      return row ? connectionFromRow(row) : null;
    }
    case 'appendConnectionMessage': {
      const m = op.message;
      if (m.idempotencyKey !== null) {
        const earlier = sql.messageByKey.get(op.connectionId, m.idempotencyKey) as ConnectionMessageRow | undefined;
        if (earlier) return { message: connectionMessageFromRow(earlier), replayed: true };
      }
      const taken = sql.takeSeq.get({ connectionId: op.connectionId, senderId: m.senderId, timestamp: m.timestamp }) as
        | { last_seq: number }
        | undefined;
      if (!taken) return null;
      sql.insertMessage.run(op.connectionId, taken.last_seq, m.id, m.senderId, m.content, m.timestamp, m.idempotencyKey);
      const message: ConnectionMessage = {
        connectionId: op.connectionId,
        seq: taken.last_seq,
        id: m.id,
        senderId: m.senderId,
        content: m.content,
        timestamp: m.timestamp,
      };
      return { message, replayed: false };
    }
    case 'markRead': {
      const row = sql.markRead.get({ connectionId: op.connectionId, userId: op.userId, upTo: op.upTo }) as ConnectionRow | undefined;
      return row ? connectionFromRow(row) : null;
    }
    case 'putPushTarget': {
      const t = op.target;
      sql.removePushTargetOfOthers.run(t.id, t.userId);
      sql.putPushTarget.run(t.userId, t.id, JSON.stringify(t.target), t.createdAt);
      return undefined;
    }
    case 'removePushTarget':
      return sql.removePushTarget.run(op.userId, op.id).changes === 1;
  }
}
