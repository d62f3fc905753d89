import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryMessageJson } from '../src/client/chatify-client.js';
import { migrate as migratePostgres } from '../src/store/postgres/migrations.js';
import { migrate as migrateSqlite } from '../src/store/sqlite/migrations.js';
import { ChatifyServer, tempDir } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { createTestDatabase, postgresConfigured } from './support/postgres.js';

/** The last migration before sessions became trees. */
const PREVIOUS_VERSION = 5;
const AT = '2025-06-01T10:00:00.000Z';
/** A conversation of three exchanges, stored by the previous version: one row per message, seqs 1…6. */
const OLD_LINE = ['Hello', 'Hi! How can I help?', 'Tell me about the old windmill', 'It was built in 1776.', 'And the tulips?', 'They bloom in April.'];
const role = (i: number) => (i % 2 === 0 ? 'user' : 'assistant');

/** Each message of `conversation_history` as [content, id, parent_id, sibling_ids]. */
const placed = (history: HistoryMessageJson[]) => history.map((m) => [m.content, m.id, m.parent_id, m.sibling_ids]);

/** What a database of the previous version must do once the new code opens it. */
function opensContinuesAndBranches(start: (modelUrl: string) => Promise<{ server: ChatifyServer; line: string; empty: string }>, kind: string) {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let line: string;
  let empty: string;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
    model.reply = (request) => `Reply to: ${request.messages.at(-1)!.content}`;
    ({ server, line, empty } = await start(model.url));
    expect(server.chatify.store.kind).toBe(kind);
  });
  afterAll(async () => {
    await server?.close();
    await model?.close();
  });
  const history = async (id: string) => {
    const got = await server.get(`/api/v1/chatbot/session/${id}?limit=100`);
    expect(got.status).toBe(200);
    return got.body as { conversation_history: HistoryMessageJson[]; message_count: number };
  };

  it('opens an old session as a line: each message follows the one before it', async () => {
    const store = server.chatify.store;
    expect((await store.readMessages(line, { limit: 100 })).map((m) => [m.seq, m.parentSeq, m.content])).toEqual(
      OLD_LINE.map((content, i) => [i + 1, i === 0 ? null : i, content]),
    );
    expect(await store.getSession(line)).toMatchObject({ messageCount: 3, status: 'active' });
    const children = await store.childrenOf(line, [null, 2, 6]);
    expect([children.get(null), children.get(2), children.get(6)]).toEqual([[1], [3], []]);
    const got = await history(line);
    expect(got.message_count).toBe(3);
    expect(placed(got.conversation_history)).toEqual(OLD_LINE.map((content, i) => [content, `${i + 1}`, i === 0 ? null : `${i}`, [`${i + 1}`]]));
  });

  it('continues an old session over HTTP with its whole context, and starts an old empty one', async () => {
    const sent = await server.send(line, 'And the canals?');
    expect(sent.status).toBe(200);
    expect(sent.body.message_count).toBe(4);
    expect(model.requests.at(-1)!.messages.slice(1).map((m) => m.content)).toEqual([...OLD_LINE, 'And the canals?']);
    expect(placed((await history(line)).conversation_history).slice(5)).toEqual([
      ['They bloom in April.', '6', '5', ['6']],
      ['And the canals?', '7', '6', ['7']],
      ['Reply to: And the canals?', '8', '7', ['8']],
    ]);

    expect((await server.send(empty, 'First words')).body.message_count).toBe(1);
    expect(placed((await history(empty)).conversation_history)).toEqual([
      ['First words', '1', null, ['1']],
      ['Reply to: First words', '2', '1', ['2']],
    ]);
  });

  it('branches an old session over HTTP (edit, regenerate) and selects the old branch back', async () => {
    // An edit of the second question (seq 3, whose parent is seq 2).
    const edited = await server.post(`/api/v1/chatbot/session/${line}/messages/3/edit`, { message: 'Tell me about the new windmill' });
    expect(edited.body).toMatchObject({ message_count: 2, message_id: '10' });
    expect(model.requests.at(-1)!.messages.slice(1).map((m) => m.content)).toEqual(['Hello', 'Hi! How can I help?', 'Tell me about the new windmill']);
    const regenerated = await server.post(`/api/v1/chatbot/session/${line}/regenerate`);
    expect(regenerated.body).toMatchObject({ message_count: 2, message_id: '11' });
    const branched = await history(line);
    expect(branched.message_count).toBe(2);
    expect(placed(branched.conversation_history)).toEqual([
      ['Hello', '1', null, ['1']],
      ['Hi! How can I help?', '2', '1', ['2']],
      ['Tell me about the new windmill', '9', '2', ['3', '9']],
      ['Reply to: Tell me about the new windmill', '11', '9', ['10', '11']],
    ]);

    const selected = await server.post(`/api/v1/chatbot/session/${line}/messages/3/select`);
    expect(selected.body.message_count).toBe(4);
    const restored = await history(line);
    expect(restored.message_count).toBe(4);
    expect(restored.conversation_history.map((m) => m.content)).toEqual([...OLD_LINE, 'And the canals?', 'Reply to: And the canals?']);
    expect(placed(restored.conversation_history)[2]).toEqual(['Tell me about the old windmill', '3', '2', ['3', '9']]);
  });
}

describe('a SQLite database from before message trees', () => {
  opensContinuesAndBranches(async (modelUrl) => {
    const path = join(tempDir(), 'before-trees.db');
    const line = randomUUID();
    const empty = randomUUID();
    const db = new Database(path);
    migrateSqlite(db, PREVIOUS_VERSION);
    expect((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(PREVIOUS_VERSION);
    const insertSession = db.prepare(`INSERT INTO sessions (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count)
      VALUES (?, 'old_user', 'friendly-assistant', 'You are friendly.', 'active', ?, ?, NULL, ?)`);
    const { lastInsertRowid: seq } = insertSession.run(line, AT, AT, 3);
    insertSession.run(empty, AT, AT, 0);
    const insert = db.prepare('INSERT INTO messages (session_seq, seq, role, content, tokens, created_at) VALUES (?, ?, ?, ?, ?, ?)');
    OLD_LINE.forEach((content, i) => insert.run(seq, i + 1, role(i), content, 5, AT));
    db.close();
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(modelUrl), { databasePath: path });
    return { server, line, empty };
  }, 'sqlite');
});

describe.runIf(postgresConfigured())('a PostgreSQL database from before message trees', () => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  opensContinuesAndBranches(async (modelUrl) => {
    const database = await createTestDatabase();
    drop = database.drop;
    const line = randomUUID();
    const empty = randomUUID();
    const pool = new pg.Pool({ connectionString: database.url });
    try {
      await migratePostgres(pool, PREVIOUS_VERSION);
      expect((await pool.query('SELECT MAX(version) AS v FROM schema_migrations')).rows[0].v).toBe(PREVIOUS_VERSION);
      const insertSession = `INSERT INTO sessions
          (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count, last_seq)
        VALUES ($1, 'old_user', 'friendly-assistant', 'You are friendly.', 'active', $2, $2, NULL, $3, $4) RETURNING seq`;
      const { rows } = await pool.query<{ seq: string }>(insertSession, [line, AT, 3, OLD_LINE.length]);
      await pool.query(insertSession, [empty, AT, 0, 0]);
      for (const [i, content] of OLD_LINE.entries()) {
        await pool.query('INSERT INTO messages (session_seq, seq, role, content, tokens, created_at) VALUES ($1, $2, $3, $4, 5, $5)', [
          rows[0]!.seq, i + 1, role(i), content, AT,
        ]);
      }
    } finally {
      await pool.end();
    }
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(modelUrl, { DATABASE_URL: database.url }));
    return { server, line, empty };
  }, 'postgres');
});
