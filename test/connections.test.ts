import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { LiveClient } from './support/live-client.js';
import { forEachStore } from './support/stores.js';

const MISSING = '3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c';

forEachStore(() => {
  describe('connections API', () => {
    let server: ChatifyServer;
    beforeAll(async () => {
      server = await ChatifyServer.start({ PEOPLE_MAX_MESSAGE_LENGTH: '100' });
    });
    afterAll(() => server.close());

    const connect = async (user1: string, user2: string) => {
      const res = await server.post('/api/v1/connections', { user1_id: user1, user2_id: user2 });
      expect([200, 201]).toContain(res.status);
      return res.body.id as string;
    };
    const send = (id: string, sender: string, content: string) =>
      server.post(`/api/v1/connections/${id}/messages`, { sender_id: sender, content });
    const messagesOf = async (id: string, query = '') => (await server.get(`/api/v1/connections/${id}/messages${query}`)).body;

    it('creates a connection, and answers the same one for the same pair in either order', async () => {
      const created = await server.post('/api/v1/connections', { user1_id: 'ann', user2_id: 'ben' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ users: ['ann', 'ben'], user1_id: 'ann', user2_id: 'ben', status: 'active', ended_at: null, last_seq: 0 });
      expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(created.body.created_at)).not.toBeNaN();

      const again = await server.post('/api/v1/connections', { user1_id: 'ben', user2_id: 'ann' });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(created.body.id);
      expect((await server.get(`/api/v1/connections/${created.body.id}`)).body.id).toBe(created.body.id);
    });

    it('refuses bad connections with a 4xx and creates nothing', async () => {
      const bad: [unknown, number, string][] = [
        [{ user1_id: 'solo', user2_id: 'solo' }, 422, 'same_user'],
        [{ user1_id: 'solo' }, 422, 'validation_error'],
        [{ user1_id: 'solo', user2_id: 'has space' }, 422, 'validation_error'],
        [{ user2_id: 'other' }, 422, 'user_required'],
        ['not json', 400, 'invalid_json'],
      ];
      for (const [body, status, code] of bad) {
        const res = await server.post('/api/v1/connections', body);
        expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
      }
      expect((await server.get('/api/v1/connections?user_id=solo')).body).toEqual([]);
      expect((await server.get('/api/v1/connections?user_id=other')).body).toEqual([]);
      // Unknown fields are ignored, never stored.
      const ignored = await server.post('/api/v1/connections', { user1_id: 'solo', user2_id: 'other', status: 'ended', id: 'mine' });
      expect(ignored.status).toBe(201);
      expect(ignored.body.status).toBe('active');
      expect(ignored.body.id).not.toBe('mine');
    });

    it('stores messages with gap-free sequence numbers and answers them in order', async () => {
      const id = await connect('cat', 'dan');
      const first = await send(id, 'cat', 'hello dan');
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ connection_id: id, seq: 1, sender_id: 'cat', content: 'hello dan' });
      expect(first.body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(first.body.timestamp)).not.toBeNaN();
      expect((await send(id, 'dan', 'hi cat')).body.seq).toBe(2);
      expect((await send(id, 'cat', 'how are you?')).body.seq).toBe(3);

      expect((await messagesOf(id)).map((m: any) => [m.seq, m.sender_id, m.content])).toEqual([
        [1, 'cat', 'hello dan'],
        [2, 'dan', 'hi cat'],
        [3, 'cat', 'how are you?'],
      ]);
      expect((await messagesOf(id, '?after=1&limit=1')).map((m: any) => m.seq)).toEqual([2]);
      expect((await messagesOf(id, '?after=3')).map((m: any) => m.seq)).toEqual([]);
      expect((await messagesOf(id, '?before=3&limit=1')).map((m: any) => m.seq)).toEqual([2]);
      expect((await messagesOf(id, '?limit=2')).map((m: any) => m.seq)).toEqual([2, 3]);
      expect((await messagesOf(id, '?user_id=dan')).length).toBe(3);
    });

    it('keeps every one of many concurrent messages, each with its own seq', async () => {
      const id = await connect('eve', 'fay');
      const sent = await Promise.all(Array.from({ length: 25 }, (_, i) => send(id, i % 2 ? 'eve' : 'fay', `m${i}`)));
      expect(sent.map((r) => r.status)).toEqual(Array(25).fill(201));
      expect(sent.map((r) => r.body.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      const stored = await messagesOf(id, '?limit=100');
      expect(stored.map((m: any) => m.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(new Set(stored.map((m: any) => m.content)).size).toBe(25);
    });

    it('lets only the two participants read or write (404 for anyone else)', async () => {
      const id = await connect('gus', 'hal');
      await send(id, 'gus', 'private');
      const outsider = await send(id, 'ivy', 'let me in');
      expect([outsider.status, outsider.body.error.code]).toEqual([404, 'connection_not_found']);
      expect((await server.get(`/api/v1/connections/${id}/messages?user_id=ivy`)).status).toBe(404);
      expect((await server.get(`/api/v1/connections/${id}?user_id=ivy`)).status).toBe(404);
      expect((await server.post(`/api/v1/connections/${id}/read`, { user_id: 'ivy', up_to: 1 })).status).toBe(404);
      expect((await server.del(`/api/v1/connections/${id}?user_id=ivy`)).status).toBe(404);
      expect((await server.get('/api/v1/connections?user_id=ivy')).body).toEqual([]);
      expect((await send(MISSING, 'gus', 'anyone?')).status).toBe(404);
      expect((await send('not-a-uuid', 'gus', 'anyone?')).status).toBe(404);
      expect((await messagesOf(id)).map((m: any) => m.content)).toEqual(['private']);
    });

    it('refuses bad messages with a 4xx and stores nothing', async () => {
      const id = await connect('jay', 'kim');
      const bad: [unknown, number, string][] = [
        [{ sender_id: 'jay', content: '' }, 422, 'validation_error'],
        [{ sender_id: 'jay', content: '   ' }, 422, 'invalid_text'],
        [{ sender_id: 'jay', content: 'x'.repeat(101) }, 422, 'message_too_long'],
        [{ sender_id: 'jay', content: 'bell\u0007' }, 422, 'invalid_text'],
        [{ sender_id: 'jay', content: 42 }, 422, 'validation_error'],
        [{ content: 'who am i' }, 422, 'user_required'],
      ];
      for (const [body, status, code] of bad) {
        const res = await server.post(`/api/v1/connections/${id}/messages`, body);
        expect([res.status, res.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
      }
      expect((await send(id, 'jay', 'x'.repeat(100))).status).toBe(201);
      expect((await messagesOf(id)).length).toBe(1);
      const ignored = await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'jay', content: 'hi', seq: 99 });
      expect([ignored.status, ignored.body.seq]).toEqual([201, 2]);
    });

    it('lists a user’s connections with the last message and unread count, and read receipts clear it', async () => {
      const older = await connect('lea', 'max');
      const newer = await connect('lea', 'ned');
      await send(older, 'max', 'one');
      await send(older, 'max', 'two');
      await send(newer, 'ned', 'hey');
      await send(older, 'lea', 'three');
      await send(older, 'max', 'four');

      const list = (await server.get('/api/v1/connections?user_id=lea')).body;
      expect(list.map((c: any) => [c.id, c.last_message?.content, c.unread_count])).toEqual([
        [older, 'four', 1], // lea's own "three" marked everything before it read
        [newer, 'hey', 1],
      ]);
      const maxView = (await server.get('/api/v1/connections?user_id=max')).body;
      expect(maxView.map((c: any) => [c.id, c.unread_count])).toEqual([[older, 0]]); // max wrote the newest one

      const read = await server.post(`/api/v1/connections/${older}/read`, { user_id: 'lea', up_to: 4 });
      expect(read.status).toBe(200);
      expect(read.body).toEqual({ connection_id: older, user_id: 'lea', read_up_to: 4, unread_count: 0 });
      // Never backwards, never past the newest message.
      expect((await server.post(`/api/v1/connections/${older}/read`, { user_id: 'lea', up_to: 1 })).body.read_up_to).toBe(4);
      const past = await server.post(`/api/v1/connections/${older}/read`, { user_id: 'lea', up_to: 5 });
      expect([past.status, past.body.error.code]).toEqual([422, 'invalid_read_position']);
      const negative = await server.post(`/api/v1/connections/${older}/read`, { user_id: 'lea', up_to: -1 });
      expect(negative.status).toBe(422);
      expect((await server.get('/api/v1/connections?user_id=lea')).body.map((c: any) => c.unread_count)).toEqual([0, 1]);
    });

    it('pages a long list with X-Next-Cursor', async () => {
      for (const peer of ['p1', 'p2', 'p3']) await send(await connect('pager', peer), peer, `hi from ${peer}`);
      const first = await server.get('/api/v1/connections?user_id=pager&limit=2');
      expect(first.body.map((c: any) => c.last_message.content)).toEqual(['hi from p3', 'hi from p2']);
      const cursor = first.headers.get('x-next-cursor');
      expect(cursor).toBeTruthy();
      const second = await server.get(`/api/v1/connections?user_id=pager&limit=2&cursor=${cursor}`);
      expect(second.body.map((c: any) => c.last_message.content)).toEqual(['hi from p1']);
      expect(second.headers.get('x-next-cursor')).toBeNull();
      const bad = await server.get('/api/v1/connections?user_id=pager&cursor=not-a-cursor');
      expect([bad.status, bad.body.error.code]).toEqual([422, 'invalid_cursor']);
    });

    it('ends a connection: its messages stay readable, nothing more can be sent', async () => {
      const id = await connect('oli', 'pam');
      await send(id, 'oli', 'bye soon');
      const ended = await server.del(`/api/v1/connections/${id}?user_id=pam`);
      expect(ended.status).toBe(200);
      expect(ended.body).toMatchObject({ id, status: 'ended' });
      expect(Date.parse(ended.body.ended_at)).not.toBeNaN();
      const late = await send(id, 'oli', 'still there?');
      expect([late.status, late.body.error.code]).toEqual([409, 'connection_ended']);
      expect((await server.del(`/api/v1/connections/${id}`)).status).toBe(409);
      expect((await messagesOf(id)).map((m: any) => m.content)).toEqual(['bye soon']);
      expect((await server.get('/api/v1/connections?user_id=oli&status=ended')).body.map((c: any) => c.id)).toEqual([id]);
      expect((await server.get('/api/v1/connections?user_id=oli&status=active')).body).toEqual([]);
      // The pair may connect again: a new connection.
      const again = await server.post('/api/v1/connections', { user1_id: 'pam', user2_id: 'oli' });
      expect(again.status).toBe(201);
      expect(again.body.id).not.toBe(id);
    });

    it('answers a retry with the same Idempotency-Key with the stored message, not a second one', async () => {
      const id = await connect('quin', 'rae');
      const headers = { 'idempotency-key': 'send-1' };
      const body = { sender_id: 'quin', content: 'only once' };
      const first = await server.request('POST', `/api/v1/connections/${id}/messages`, body, headers);
      const retry = await server.request('POST', `/api/v1/connections/${id}/messages`, body, headers);
      expect(first.status).toBe(201);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body).toEqual(first.body);
      expect((await messagesOf(id)).length).toBe(1);
      // The same key for another text, or from the other participant, is a mistake, not a retry.
      for (const other of [{ sender_id: 'quin', content: 'something else' }, { sender_id: 'rae', content: 'only once' }]) {
        const reused = await server.request('POST', `/api/v1/connections/${id}/messages`, other, headers);
        expect([reused.status, reused.body.error.code]).toEqual([422, 'idempotency_key_reused']);
      }
      expect((await messagesOf(id)).length).toBe(1);
      const badKey = await server.request('POST', `/api/v1/connections/${id}/messages`, body, { 'idempotency-key': 'has space' });
      expect(badKey.status).toBe(422);
    });
  });
});

// The rule lives above the store (in the connection service), so one store shows it.
describe('a read receipt that moves nothing', () => {
  let server: ChatifyServer;
  beforeAll(async () => {
    server = await ChatifyServer.start();
  });
  afterAll(() => server.close());

  it('answers the current position, writes nothing and tells no one, over HTTP and the socket', async () => {
    expect((await server.get('/ready')).body.store).toBe('sqlite');
    const id = (await server.post('/api/v1/connections', { user1_id: 'rita', user2_id: 'sam' })).body.id;
    for (const text of ['one', 'two', 'three']) await server.post(`/api/v1/connections/${id}/messages`, { sender_id: 'sam', content: text });
    expect((await server.post(`/api/v1/connections/${id}/read`, { user_id: 'rita', up_to: 2 })).status).toBe(200);
    const [rita, sam] = await Promise.all([
      LiveClient.connect(server.baseUrl, { user_id: 'rita' }),
      LiveClient.connect(server.baseUrl, { user_id: 'sam' }),
    ]);
    const writes = vi.spyOn(server.chatify.store, 'markRead');
    try {
      // The same position again, and an older one (a late or repeated receipt): success, as before.
      for (const upTo of [2, 1, 0]) {
        const again = await server.post(`/api/v1/connections/${id}/read`, { user_id: 'rita', up_to: upTo });
        expect([again.status, again.body]).toEqual([200, { connection_id: id, user_id: 'rita', read_up_to: 2, unread_count: 1 }]);
      }
      // Over the socket too (frames are answered in order: the pong comes after the receipt).
      rita.send({ type: 'read', connection_id: id, up_to: 1 });
      rita.send({ type: 'ping' });
      await rita.next((f) => f.type === 'pong');
      expect(writes).not.toHaveBeenCalled();

      // A receipt that moves forward writes and is announced; nothing came before it.
      expect((await server.post(`/api/v1/connections/${id}/read`, { user_id: 'rita', up_to: 3 })).body.read_up_to).toBe(3);
      expect(writes).toHaveBeenCalledTimes(1);
      const receipt = { type: 'read', connection_id: id, user_id: 'rita', up_to: 3 };
      expect(await sam.next((f) => f.type === 'read')).toEqual(receipt);
      await rita.next((f) => f.type === 'read');
      expect(sam.frames.filter((f) => f.type === 'read')).toEqual([receipt]);
      expect(rita.frames.filter((f) => f.type === 'read' || f.type === 'error')).toEqual([receipt]);
    } finally {
      writes.mockRestore();
      await Promise.all([rita.close(), sam.close()]);
    }
  });
});
