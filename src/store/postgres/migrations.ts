import type { Pool } from 'pg';

/** Versioned schema changes, applied in order, each once, each in its own transaction. Never edit one that shipped. */
const MIGRATIONS: readonly string[] = [
  /* 1: sessions, append-only messages, personalities, settings */ `
  CREATE TABLE sessions (
    seq           BIGSERIAL PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    user_id       TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    created_at    TIMESTAMPTZ NOT NULL,
    last_activity TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ,
    message_count INTEGER NOT NULL DEFAULT 0,
    -- The last message sequence number: bumped in the same row update that counts an exchange,
    -- so concurrent appends (from any instance) get distinct numbers without a second lookup.
    last_seq      INTEGER NOT NULL DEFAULT 0
  );
  -- A user's sessions, newest first, paged by seq.
  CREATE INDEX sessions_by_user ON sessions (user_id, seq DESC);

  CREATE TABLE messages (
    session_seq BIGINT NOT NULL REFERENCES sessions (seq),
    seq         INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content     TEXT NOT NULL,
    tokens      INTEGER NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    -- Paging a session's history walks this index backwards from any seq: flat at millions of rows.
    PRIMARY KEY (session_seq, seq)
  );

  CREATE TABLE personalities (
    id   TEXT PRIMARY KEY,
    seq  BIGSERIAL NOT NULL,
    body JSONB NOT NULL
  );

  CREATE TABLE settings (
    key  TEXT PRIMARY KEY,
    body JSONB NOT NULL
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
    created_at       TIMESTAMPTZ NOT NULL,
    ended_at         TIMESTAMPTZ,
    last_activity    TIMESTAMPTZ NOT NULL,
    -- Bumped by the same row update that appends a message: concurrent appends queue on the row lock.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    user1_read_up_to INTEGER NOT NULL DEFAULT 0,
    user2_read_up_to INTEGER NOT NULL DEFAULT 0
  );
  -- At most one active connection per pair, across instances: a racing insert conflicts here.
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
    timestamp       TIMESTAMPTZ NOT NULL,
    idempotency_key TEXT,
    PRIMARY KEY (connection_id, seq)
  );
  CREATE UNIQUE INDEX connection_messages_by_idempotency_key
    ON connection_messages (connection_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

  CREATE TABLE push_targets (
    user_id    TEXT NOT NULL,
    id         TEXT NOT NULL,
    target     JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, id)
  );
  `,
  // 4: a device belongs to one user; registering it for another finds it by id.
  `CREATE INDEX push_targets_by_id ON push_targets (id);`,
  /* 5: session titles, and full-text indexes ('simple': no stemming, any language) of titles and messages */ `
  ALTER TABLE sessions ADD COLUMN title TEXT;
  CREATE INDEX sessions_title_search ON sessions USING GIN (to_tsvector('simple', COALESCE(title, '')));
  CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', content));
  `,
  /* 6: every session a tree of messages: parents, exchange numbers, the active leaf (existing sessions become lines) */ `
  ALTER TABLE messages ADD COLUMN parent_seq INTEGER;
  -- User messages on the path down to this one: a leaf's message count, known without walking.
  ALTER TABLE messages ADD COLUMN exchange_no INTEGER NOT NULL DEFAULT 0;
  -- The active path's last message; 0 while the session has none.
  ALTER TABLE sessions ADD COLUMN active_seq INTEGER NOT NULL DEFAULT 0;
  -- One pass over the messages: each follows the one before it.
  UPDATE messages m SET parent_seq = line.previous, exchange_no = line.exchanges
    FROM (SELECT session_seq, seq, LAG(seq) OVER w AS previous, COUNT(*) FILTER (WHERE role = 'user') OVER w AS exchanges
            FROM messages WINDOW w AS (PARTITION BY session_seq ORDER BY seq)) AS line
   WHERE m.session_seq = line.session_seq AND m.seq = line.seq;
  UPDATE sessions SET active_seq = last_seq;
  -- A message's children (and the first messages, parent NULL), oldest first.
  CREATE INDEX messages_by_parent ON messages (session_seq, parent_seq, seq);
  `,
  /* 7: memory: a rolling summary per session, long-term facts per user and personality */ `
  ALTER TABLE sessions ADD COLUMN summary TEXT;
  ALTER TABLE sessions ADD COLUMN summary_seq INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE sessions ADD COLUMN memory_tokens BIGINT NOT NULL DEFAULT 0;
  CREATE TABLE memories (
    id                TEXT PRIMARY KEY,
    user_id           TEXT NOT NULL,
    personality_id    TEXT,
    text              TEXT NOT NULL,
    source_session_id TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    used_at           TIMESTAMPTZ NOT NULL
  );
  CREATE INDEX memories_by_user ON memories (user_id, personality_id);
  `,
];

/** An arbitrary constant: the advisory lock that lets one instance migrate while others wait. */
const MIGRATION_LOCK = 7_305_112_001;

/** Applies the migrations not yet applied, up to `upTo` (all by default; fewer to build an older schema in tests). */
export async function migrate(pool: Pool, upTo = MIGRATIONS.length): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
    const current = rows[0]!.version;
    for (const [index, sql] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (version <= current || version > upTo) continue;
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())', [version]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}
