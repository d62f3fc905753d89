import type Database from 'better-sqlite3';
import type { ConnectionListOptions } from '../../people/connection-store.js';
import type { Statement } from 'better-sqlite3';
import type { Connection, ConnectionMessage, ConnectionSummary, StoredPushTarget } from '../../people/types.js';
import {
  connectionFromRow,
  connectionMessageFromRow,
  connectionSummaryFromRow,
  pushTargetFromRow,
  type ConnectionMessageRow,
  type ConnectionRow,
  type ConnectionSummaryRow,
  type PushTargetRow,
} from '../sql-rows.js';

/** The user-to-user chat reads: on the main thread, with statements prepared once (writes are in connection-writes.ts). */
export class SqliteConnectionQueries {
  readonly #sql: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.#sql = prepare(db);
  }

  get(id: string): Connection | null {
    const row = this.#sql.get.get(id) as ConnectionRow | undefined;
    return row ? connectionFromRow(row) : null;
  }

  list(userId: string, options: ConnectionListOptions): ConnectionSummary[] {
    const rows = this.#sql.list.all({
      userId,
      status: options.status ?? null,
      limit: options.limit,
      beforeActivity: options.before?.lastActivity ?? null,
      beforeId: options.before?.id ?? null,
    }) as ConnectionSummaryRow[];
    return rows.map(connectionSummaryFromRow);
  }

  readMessages(connectionId: string, page: { limit: number; after?: number | undefined; before?: number | undefined }): ConnectionMessage[] {
    if (page.after !== undefined) {
      return (this.#sql.messagesAfter.all(connectionId, page.after, page.limit) as ConnectionMessageRow[]).map(connectionMessageFromRow);
    }
    const rows = this.#sql.messagesBefore.all(connectionId, page.before ?? Number.MAX_SAFE_INTEGER, page.limit) as ConnectionMessageRow[];
    rows.reverse();
    return rows.map(connectionMessageFromRow);
  }

  listPushTargets(userId: string): StoredPushTarget[] {
    return (this.#sql.pushTargets.all(userId) as PushTargetRow[]).map(pushTargetFromRow);
  }
}

/** Each side of the pair walks its own index newest first; the union is cut to the limit again. */
const newestOnSide = (column: 'user1_id' | 'user2_id') => `SELECT * FROM (SELECT * FROM connections
  WHERE ${column} = @userId AND (@status IS NULL OR status = @status)
    AND (@beforeActivity IS NULL OR (last_activity, id) < (@beforeActivity, @beforeId))
  ORDER BY last_activity DESC, id DESC LIMIT @limit)`;

function prepare(db: Database.Database) {
  const s = (sql: string): Statement => db.prepare(sql);
  return {
    get: s('SELECT * FROM connections WHERE id = ?'),
    // UNION, not UNION ALL: a connection of a user with themself is listed once.
    list: s(`SELECT c.*, m.id AS message_id, m.sender_id AS message_sender_id, m.content AS message_content,
        m.timestamp AS message_timestamp
      FROM (${newestOnSide('user1_id')} UNION ${newestOnSide('user2_id')}) AS c
      LEFT JOIN connection_messages m ON m.connection_id = c.id AND m.seq = c.last_seq
      ORDER BY c.last_activity DESC, c.id DESC LIMIT @limit`),
    messagesAfter: s('SELECT * FROM connection_messages WHERE connection_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
    messagesBefore: s('SELECT * FROM connection_messages WHERE connection_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    pushTargets: s('SELECT * FROM push_targets WHERE user_id = ? ORDER BY created_at, id'),
  };
}
