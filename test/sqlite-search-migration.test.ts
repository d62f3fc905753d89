import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/store/sqlite/migrations.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

/** The schema before titles and search (migration 4), written the way that version wrote. */
function databaseOfThePreviousVersion(path: string, sessionId: string): void {
  const db = new Database(path);
  migrate(db, 4);
  expect((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(4);
  const at = '2025-06-01T10:00:00.000Z';
  const { lastInsertRowid: seq } = db
    .prepare(`INSERT INTO sessions (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count)
      VALUES (?, 'old_user', 'friendly-assistant', 'You are friendly.', 'active', ?, ?, NULL, 2)`)
    .run(sessionId, at, at);
  const insert = db.prepare('INSERT INTO messages (session_seq, seq, role, content, tokens, created_at) VALUES (?, ?, ?, ?, ?, ?)');
  ['Hello', 'Hi! How can I help?', 'Tell me about the old windmill near Delft', 'It was built in 1776.'].forEach((content, i) =>
    insert.run(seq, i + 1, i % 2 === 0 ? 'user' : 'assistant', content, 5, at),
  );
  db.close();
}

describe('a SQLite database from before titles and search', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chatify-migration-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens, its sessions have no title, and search finds their old messages and new ones', async () => {
    const path = join(dir, 'old.db');
    const id = randomUUID();
    databaseOfThePreviousVersion(path, id);
    const store = new SqliteStore({ path, synchronous: 'NORMAL' });
    try {
      expect(store.kind).toBe('sqlite');
      expect(await store.getSession(id)).toMatchObject({ userId: 'old_user', messageCount: 2, title: null });
      const found = await store.searchSessions('old_user', ['windmill'], { limit: 10 });
      expect(found.items.map((s) => s.id)).toEqual([id]);
      expect((await store.searchSessions('someone_else', ['windmill'], { limit: 10 })).items).toEqual([]);

      const at = '2025-06-02T10:00:00.000Z';
      await store.appendExchange(id, [
        { role: 'user', content: 'And the tulip fields?', tokens: 4, createdAt: at },
        { role: 'assistant', content: 'They bloom in April.', tokens: 4, createdAt: at },
      ], at);
      expect((await store.searchSessions('old_user', ['tulip'], { limit: 10 })).items.map((s) => s.id)).toEqual([id]);
      expect(await store.setTitle(id, 'Dutch travels', true)).toBe(true);
      expect((await store.searchSessions('old_user', ['dutch', 'travel'], { limit: 10 })).items.map((s) => s.id)).toEqual([id]);
      // A renamed title leaves the index with the old name.
      await store.setTitle(id, 'Holland', false);
      expect((await store.searchSessions('old_user', ['dutch'], { limit: 10 })).items).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
