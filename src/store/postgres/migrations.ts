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
];

/** An arbitrary constant: the advisory lock that lets one instance migrate while others wait. */
const MIGRATION_LOCK = 7_305_112_001;

export async function migrate(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
    const current = rows[0]!.version;
    for (const [index, sql] of MIGRATIONS.entries()) {
      const version = index + 1;
      if (version <= current) continue;
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
