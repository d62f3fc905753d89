import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { createTestDatabase, postgresConfigured } from './support/postgres.js';

/**
 * Every number and cursor that passes validation fits the column it is compared with (PostgreSQL's
 * integer, bigint and timestamptz are the narrowest); anything larger is a 422, never a 500, and the
 * limits are the same whichever store answers: the same cases run on PostgreSQL and on SQLite.
 */

const encodeCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** [store as /ready names it, suite runs?, its DATABASE_URL (or none for a fresh SQLite file)] */
const STORES: [string, () => boolean, () => Promise<{ url?: string; drop: () => Promise<void> }>][] = [
  ['sqlite', () => true, async () => ({ drop: async () => undefined })],
  ['postgres', postgresConfigured, createTestDatabase],
];

for (const [store, runs, database] of STORES) {
  describe.runIf(runs())(`numbers and cursors beyond what a column holds, on ${store}`, () => {
    let model: FakeOpenAi;
    let server: ChatifyServer;
    let drop: () => Promise<void>;
    let sessionId: string;
    let connectionId: string;

    beforeAll(async () => {
      const db = await database();
      drop = db.drop;
      model = await FakeOpenAi.start();
      server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, db.url ? { DATABASE_URL: db.url } : {}));
      sessionId = await server.createSession('range_user');
      expect((await server.send(sessionId, 'one message')).status).toBe(200);
      connectionId = (await server.post('/api/v1/connections', { user1_id: 'range_user', user2_id: 'range_friend' })).body.id;
      expect((await server.post(`/api/v1/connections/${connectionId}/messages`, { sender_id: 'range_user', content: 'hi' })).status).toBe(201);
    });
    afterAll(async () => {
      await server.close();
      await model.close();
      await drop();
    });

    it('is answered by the store it names', async () => {
      expect((await server.get('/ready')).body.store).toBe(store);
    });

    it('refuses a history page before a seq beyond 32 bits, and takes the largest one that fits', async () => {
      for (const before of ['99999999999999999999', '2147483648', '1e300']) {
        const res = await server.get(`/api/v1/chatbot/session/${sessionId}?before=${before}`);
        expect([before, res.status, res.body.error?.code]).toEqual([before, 422, 'validation_error']);
      }
      const largest = await server.get(`/api/v1/chatbot/session/${sessionId}?before=2147483647`);
      expect(largest.status).toBe(200);
      expect(largest.body.conversation_history.map((m: any) => m.content)).toEqual(['one message', 'Reply to: one message']);
    });

    it('refuses a session list cursor or limit beyond what fits, and takes the largest cursor that does', async () => {
      for (const query of ['cursor=9999999999999999999', 'cursor=9223372036854775808', 'cursor=99999999999999999999', 'limit=99999999999999999999']) {
        const res = await server.get(`/api/v1/chatbot/sessions?user_id=range_user&${query}`);
        // A cursor is refused by its schema or, where each store checks its own shape, as invalid_cursor.
        expect([query, res.status, res.body.error?.code]).toEqual([query, 422, expect.stringMatching(/^(validation_error|invalid_cursor)$/)]);
      }
      const largest = await server.get('/api/v1/chatbot/sessions?user_id=range_user&cursor=9223372036854775807');
      expect(largest.status).toBe(200);
      expect(largest.body.sessions.map((s: any) => s.session_id)).toEqual([sessionId]);
    });

    it('refuses a connections cursor whose time or id is not one a page could have given', async () => {
      const cursors: [string, unknown][] = [
        ['year 300000', ['+300000-01-01T00:00:00.000Z', connectionId]],
        ['the last day JavaScript knows', ['+275760-09-13T00:00:00.000Z', connectionId]],
        ['the first day JavaScript knows', ['-271821-04-20T00:00:00.000Z', connectionId]],
        ['year zero', ['0000-01-01T00:00:00.000Z', connectionId]],
        ['a bare number', ['1', connectionId]],
        ['a date in words', ['Tuesday, 1 January 2030', connectionId]],
        ['a day that does not exist', ['2030-02-30T00:00:00.000Z', connectionId]],
        ['a NUL in the id', ['2030-01-01T00:00:00.000Z', 'a\u0000b']],
        ['an id that is no connection id', ['2030-01-01T00:00:00.000Z', 'x']],
        ['a number for the id', ['2030-01-01T00:00:00.000Z', 2 ** 63]],
      ];
      for (const [what, value] of cursors) {
        const res = await server.get(`/api/v1/connections?user_id=range_user&cursor=${encodeCursor(value)}`);
        expect([what, res.status, res.body.error?.code]).toEqual([what, 422, 'invalid_cursor']);
      }
      const latest = await server.get(`/api/v1/connections?user_id=range_user&cursor=${encodeCursor(['9999-12-31T23:59:59.999Z', connectionId])}`);
      expect(latest.status).toBe(200);
      expect(latest.body.map((c: any) => c.id)).toEqual([connectionId]);
      expect((await server.get('/api/v1/connections?user_id=range_user&limit=201')).status).toBe(422);
    });

    it('refuses message seqs and read positions beyond 32 bits', async () => {
      for (const query of ['after=2147483648', 'before=99999999999999999999', 'limit=99999999999999999999']) {
        const res = await server.get(`/api/v1/connections/${connectionId}/messages?user_id=range_user&${query}`);
        expect([query, res.status, res.body.error?.code]).toEqual([query, 422, 'validation_error']);
      }
      const read = await server.post(`/api/v1/connections/${connectionId}/read`, { user_id: 'range_friend', up_to: 2 ** 31 });
      expect([read.status, read.body.error?.code]).toEqual([422, 'validation_error']);
      expect((await server.get('/ready')).status).toBe(200);
    });
  });
}
