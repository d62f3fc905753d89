import type { Database } from 'better-sqlite3';

/** Versioned schema changes, applied in order, each once, each in its own transaction. Never edit one that shipped. */
const MIGRATIONS: readonly string[] = [
  /* 1: sessions, append-only messages, personalities, settings */ `
  CREATE TABLE sessions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at    TEXT NOT NULL,
    last_activity TEXT NOT NULL,
    ended_at      TEXT,
    message_count INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX sessions_by_user ON sessions (user_id, seq DESC);

  CREATE TABLE messages (
    session_seq INTEGER NOT NULL REFERENCES sessions (seq),
    seq         INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content     TEXT NOT NULL,
    tokens      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (session_seq, seq)
  ) WITHOUT ROWID;

  CREATE TABLE personalities (
    id   TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL,
    body TEXT NOT NULL
  );

  CREATE TABLE settings (
    key  TEXT PRIMARY KEY,
    body TEXT NOT NULL
  );
  `,
  /* 2: idempotency keys on user messages, token usage on replies and per session */ `
  ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
  ALTER TABLE messages ADD COLUMN prompt_tokens INTEGER;
  ALTER TABLE messages ADD COLUMN completion_tokens INTEGER;
  CREATE UNIQUE INDEX messages_by_idempotency_key ON messages (session_seq, idempotency_key) WHERE idempotency_key IS NOT NULL;
  ALTER TABLE sessions ADD COLUMN prompt_tokens INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN completion_tokens INTEGER NOT NULL DEFAULT 0;
  `,
  /* 3: user-to-user connections, their messages, push targets */ `
  CREATE TABLE connections (
    id               TEXT PRIMARY KEY,
    user1_id         TEXT NOT NULL,
    user2_id         TEXT NOT NULL,
    -- The two users sorted, so (a, b) and (b, a) are one pair for the unique index below.
    pair_low         TEXT NOT NULL,
    pair_high        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at       TEXT NOT NULL,
    ended_at         TEXT,
    last_activity    TEXT NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    user1_read_up_to INTEGER NOT NULL DEFAULT 0,
    user2_read_up_to INTEGER NOT NULL DEFAULT 0
  );
  -- At most one active connection per pair; ended ones may pile up.
  CREATE UNIQUE INDEX connections_active_pair ON connections (pair_low, pair_high) WHERE status = 'active';
  -- A user's connections by last activity, from either side.
  CREATE INDEX connections_by_user1 ON connections (user1_id, last_activity DESC);
  CREATE INDEX connections_by_user2 ON connections (user2_id, last_activity DESC);

  CREATE TABLE connection_messages (
    connection_id   TEXT NOT NULL REFERENCES connections (id),
    seq             INTEGER NOT NULL,
    id              TEXT NOT NULL,
    sender_id       TEXT NOT NULL,
    content         TEXT NOT NULL,
    timestamp       TEXT NOT NULL,
    idempotency_key TEXT,
    PRIMARY KEY (connection_id, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX connection_messages_by_idempotency_key
    ON connection_messages (connection_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

  CREATE TABLE push_targets (
    user_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    target     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, id)
  ) WITHOUT ROWID;
  `,
  // 4: a device belongs to one user; registering it for another finds it by id.
  `CREATE INDEX push_targets_by_id ON push_targets (id);`,
  /* 5: session titles, and a full-text index of titles and messages (the existing ones included) */ `
  ALTER TABLE sessions ADD COLUMN title TEXT;
  -- One row per message (its own rowid) and one per titled session (rowid: minus the session's seq).
  CREATE VIRTUAL TABLE session_search USING fts5 (session_seq UNINDEXED, body);
  INSERT INTO session_search (session_seq, body) SELECT session_seq, content FROM messages;
  -- Messages take rowids above every other (never a title's negative one, even when titles came first).
  CREATE TRIGGER session_search_message AFTER INSERT ON messages BEGIN
    INSERT INTO session_search (rowid, session_seq, body) VALUES (
      max(0, coalesce((SELECT rowid FROM session_search ORDER BY rowid DESC LIMIT 1), 0)) + 1, new.session_seq, new.content
    );
  END;
  CREATE TRIGGER session_search_title AFTER UPDATE OF title ON sessions BEGIN
    DELETE FROM session_search WHERE rowid = -old.seq;
    INSERT INTO session_search (rowid, session_seq, body) SELECT -new.seq, new.seq, new.title WHERE new.title IS NOT NULL;
  END;
  `,
  /* 6: every session a tree of messages: parents, exchange numbers, the active leaf (existing sessions become lines) */ `
  ALTER TABLE messages ADD COLUMN parent_seq INTEGER;
  -- User messages on the path down to this one: a leaf's message count, known without walking.
  ALTER TABLE messages ADD COLUMN exchange_no INTEGER NOT NULL DEFAULT 0;
  -- The active path's last message; 0 while the session has none.
  ALTER TABLE sessions ADD COLUMN active_seq INTEGER NOT NULL DEFAULT 0;
  -- One pass over the messages in key order: each follows the one before it.
  UPDATE messages SET parent_seq = line.previous, exchange_no = line.exchanges
    FROM (SELECT session_seq, seq, LAG(seq) OVER w AS previous, SUM(role = 'user') OVER w AS exchanges
            FROM messages WINDOW w AS (PARTITION BY session_seq ORDER BY seq)) AS line
   WHERE messages.session_seq = line.session_seq AND messages.seq = line.seq;
  UPDATE sessions SET active_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE session_seq = sessions.seq), 0);
  -- A message's children (and the first messages, parent NULL), oldest first.
  CREATE INDEX messages_by_parent ON messages (session_seq, parent_seq, seq);
  `,
  /* 7: a session that arrives with its title (an import) is found by it too */ `
  CREATE TRIGGER session_search_new_title AFTER INSERT ON sessions WHEN new.title IS NOT NULL BEGIN
    INSERT INTO session_search (rowid, session_seq, body) VALUES (-new.seq, new.seq, new.title);
  END;
  `,
  /* 8: memory: a rolling summary per session, long-term facts per user and personality */ `
  ALTER TABLE sessions ADD COLUMN summary TEXT;
  -- The last message the summary covers; 0 while there is none.
  ALTER TABLE sessions ADD COLUMN summary_seq INTEGER NOT NULL DEFAULT 0;
  -- Tokens the housekeeping model (titles, summaries, memories) used for the session.
  ALTER TABLE sessions ADD COLUMN memory_tokens INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE memories (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL,
    personality_id    TEXT,
    text              TEXT NOT NULL,
    source_session_id TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    used_at           TEXT NOT NULL
  );
  CREATE INDEX memories_by_user ON memories (user_id, personality_id);
  `,
];

/** Applies the migrations not yet applied, up to `upTo` (all by default; fewer to build an older schema in tests). */
export function migrate(db: Database, upTo = MIGRATIONS.length): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations').get() as { version: number };
  MIGRATIONS.forEach((sql, index) => {
    const version = index + 1;
    if (version <= row.version || version > upTo) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, new Date().toISOString());
    }).immediate();
  });
}
