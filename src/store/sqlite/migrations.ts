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
];

export function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations').get() as { version: number };
  MIGRATIONS.forEach((sql, index) => {
    const version = index + 1;
    if (version <= row.version) return;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, new Date().toISOString());
    }).immediate();
  });
}
