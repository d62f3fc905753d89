import type pg from 'pg';
import type { ConnectionStore, ConnectionListOptions } from '../../people/connection-store.js';
import type { Connection, ConnectionMessage, ConnectionSummary, NewConnectionMessage, StoredPushTarget } from '../../people/types.js';
import {
  connectionFromRow,
  connectionMessageFromRow,
  connectionSummaryFromRow,
  pairColumns,
  pushTargetFromRow,
  type ConnectionMessageRow,
  type ConnectionRow,
  type ConnectionSummaryRow,
  type PushTargetRow,
} from '../sql-rows.js';

/** How PostgresStore runs a statement (its pool, with connection errors turned into 503s). */
export type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** How often a write goes round again after losing a race it can only see from the next statement. */
const RACE_ATTEMPTS = 5;

/**
 * User-to-user chat on PostgreSQL. Each write is one statement, so a concurrent writer on another
 * instance never sees half of it; races the statement cannot settle alone go round once more.
 */
export class PostgresConnections implements ConnectionStore {
  constructor(private readonly query: Query) {}

  async createConnection(c: Connection): Promise<{ connection: Connection; created: boolean }> {
    const { pairLow, pairHigh } = pairColumns(c);
    for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
      // The partial unique index refuses a second active connection for the pair. The insert is
      // invisible to the statement's own SELECT, so exactly one of the two halves returns a row,
      // unless the winner of a race committed after this statement began: then the next one sees it.
      const { rows } = await this.query<ConnectionRow & { created: boolean }>(
        `WITH inserted AS (
           INSERT INTO connections (id, user1_id, user2_id, pair_low, pair_high, status, created_at, ended_at, last_activity,
                                    last_seq, user1_read_up_to, user2_read_up_to)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (pair_low, pair_high) WHERE status = 'active' DO NOTHING
           RETURNING *
         )
         SELECT *, true AS created FROM inserted
         UNION ALL
         SELECT *, false AS created FROM connections WHERE pair_low = $4 AND pair_high = $5 AND status = 'active'`,
        [c.id, c.user1Id, c.user2Id, pairLow, pairHigh, c.status, c.createdAt, c.endedAt, c.lastActivity, c.lastSeq,
          c.user1ReadUpTo, c.user2ReadUpTo],
      );
      const row = rows[0];
      if (row) return { connection: connectionFromRow(row), created: row.created };
    }
    throw new Error(`createConnection lost ${RACE_ATTEMPTS} races in a row for one pair`);
  }

  async getConnection(id: string): Promise<Connection | null> {
    const { rows } = await this.query<ConnectionRow>('SELECT * FROM connections WHERE id = $1', [id]);
    return rows[0] ? connectionFromRow(rows[0]) : null;
  }

  async listConnections(
    userId: string,
    options: ConnectionListOptions,
  ): Promise<ConnectionSummary[]> {
    // Each side of the pair walks its own index newest first; UNION (not ALL) lists a self-connection once.
    // Ids compare byte by byte (COLLATE "C"), as in the other stores, so pages follow the same order.
    const side = (column: 'user1_id' | 'user2_id') => `(SELECT * FROM connections
       WHERE ${column} = $1 AND ($2::text IS NULL OR status = $2)
         AND ($4::timestamptz IS NULL OR (last_activity, id COLLATE "C") < ($4::timestamptz, $5::text COLLATE "C"))
       ORDER BY last_activity DESC, id COLLATE "C" DESC LIMIT $3)`;
    const { rows } = await this.query<ConnectionSummaryRow>(
      `SELECT c.*, m.id AS message_id, m.sender_id AS message_sender_id, m.content AS message_content,
              m.timestamp AS message_timestamp
         FROM (${side('user1_id')} UNION ${side('user2_id')}) AS c
         LEFT JOIN connection_messages m ON m.connection_id = c.id AND m.seq = c.last_seq
        ORDER BY c.last_activity DESC, c.id COLLATE "C" DESC LIMIT $3`,
      [userId, options.status ?? null, options.limit, options.before?.lastActivity ?? null, options.before?.id ?? null],
    );
    return rows.map(connectionSummaryFromRow);
  }

  async endConnection(id: string, endedAt: string): Promise<Connection | null> {
    const { rows } = await this.query<ConnectionRow>(
      `UPDATE connections SET status = 'ended', ended_at = $2 WHERE id = $1 AND status = 'active' RETURNING *`,
      [id, endedAt],
    );
    return rows[0] ? connectionFromRow(rows[0]) : null;
  }

  async appendConnectionMessage(
    connectionId: string,
    m: NewConnectionMessage,
  ): Promise<{ message: ConnectionMessage; replayed: boolean } | null> {
    for (let attempt = 0; attempt < RACE_ATTEMPTS; attempt++) {
      try {
        // The row update takes the connection's row lock and the next seq; concurrent appends queue on
        // that lock, each seeing the one before. A used key skips the update, so nothing is written.
        const { rows } = await this.query<ConnectionMessageRow & { replayed: boolean }>(
          `WITH earlier AS (
             SELECT * FROM connection_messages WHERE connection_id = $1 AND idempotency_key = $6::text
           ), taken AS (
             UPDATE connections
                SET last_seq = last_seq + 1, last_activity = $5::timestamptz,
                    user1_read_up_to = CASE WHEN user1_id = $3::text THEN last_seq + 1 ELSE user1_read_up_to END,
                    user2_read_up_to = CASE WHEN user2_id = $3::text THEN last_seq + 1 ELSE user2_read_up_to END
              WHERE id = $1 AND status = 'active' AND NOT EXISTS (SELECT 1 FROM earlier)
              RETURNING last_seq
           ), inserted AS (
             INSERT INTO connection_messages (connection_id, seq, id, sender_id, content, timestamp, idempotency_key)
             SELECT $1, last_seq, $2::text, $3::text, $4::text, $5::timestamptz, $6::text FROM taken
             RETURNING *
           )
           SELECT *, false AS replayed FROM inserted
           UNION ALL
           SELECT *, true AS replayed FROM earlier`,
          [connectionId, m.id, m.senderId, m.content, m.timestamp, m.idempotencyKey],
        );
        const row = rows[0];
        return row ? { message: connectionMessageFromRow(row), replayed: row.replayed } : null;
      } catch (error) {
        // Two appends with one key at once: the second's insert hits the unique index and its whole
        // statement (seq included) is undone; going round again finds the first one's message.
        if (!isUniqueViolation(error, 'connection_messages_by_idempotency_key')) throw error;
      }
    }
    throw new Error(`appendConnectionMessage lost ${RACE_ATTEMPTS} races in a row for one idempotency key`);
  }

  async readConnectionMessages(
    connectionId: string,
    page: { limit: number; after?: number | undefined; before?: number | undefined },
  ): Promise<ConnectionMessage[]> {
    if (page.after !== undefined) {
      const { rows } = await this.query<ConnectionMessageRow>(
        'SELECT * FROM connection_messages WHERE connection_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [connectionId, page.after, page.limit],
      );
      return rows.map(connectionMessageFromRow);
    }
    const { rows } = await this.query<ConnectionMessageRow>(
      'SELECT * FROM connection_messages WHERE connection_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3',
      [connectionId, page.before ?? 2_147_483_647, page.limit],
    );
    rows.reverse();
    return rows.map(connectionMessageFromRow);
  }

  async markRead(connectionId: string, userId: string, upTo: number): Promise<Connection | null> {
    const { rows } = await this.query<ConnectionRow>(
      `UPDATE connections
          SET user1_read_up_to = CASE WHEN user1_id = $2 THEN GREATEST(user1_read_up_to, LEAST($3, last_seq)) ELSE user1_read_up_to END,
              user2_read_up_to = CASE WHEN user2_id = $2 THEN GREATEST(user2_read_up_to, LEAST($3, last_seq)) ELSE user2_read_up_to END
        WHERE id = $1 AND $2 IN (user1_id, user2_id)
        RETURNING *`,
      [connectionId, userId, upTo],
    );
    return rows[0] ? connectionFromRow(rows[0]) : null;
  }

  async putPushTarget(t: StoredPushTarget): Promise<void> {
    await this.query(
      `WITH others AS (DELETE FROM push_targets WHERE id = $2 AND user_id <> $1)
       INSERT INTO push_targets (user_id, id, target, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, id) DO UPDATE SET target = excluded.target, created_at = excluded.created_at`,
      [t.userId, t.id, JSON.stringify(t.target), t.createdAt],
    );
  }

  async listPushTargets(userId: string): Promise<StoredPushTarget[]> {
    const { rows } = await this.query<PushTargetRow>('SELECT * FROM push_targets WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return rows.map(pushTargetFromRow);
  }

  async removePushTarget(userId: string, id: string): Promise<boolean> {
    return (await this.query('DELETE FROM push_targets WHERE user_id = $1 AND id = $2', [userId, id])).rowCount === 1;
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const details = error as { code?: string; constraint?: string } | null;
  return details?.code === '23505' && details.constraint === constraint;
}
