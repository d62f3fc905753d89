import { connect as connectTcp } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { floodTyping, LiveClient } from './support/live-client.js';

describe('live delivery over WebSocket', () => {
  let server: ChatifyServer;
  const clients: LiveClient[] = [];
  const live = async (query: Record<string, string>) => {
    const client = await LiveClient.connect(server.baseUrl, query);
    clients.push(client);
    return client;
  };
  const connect = async (user1: string, user2: string) =>
    (await server.post('/api/v1/connections', { user1_id: user1, user2_id: user2 })).body.id as string;
  const send = async (id: string, sender: string, content: string) => {
    const res = await server.post(`/api/v1/connections/${id}/messages`, { sender_id: sender, content });
    expect(res.status).toBe(201);
    return res.body;
  };

  beforeAll(async () => {
    server = await ChatifyServer.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => server.close());
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  };

  it('delivers messages to both participants as they happen, and nothing to a third user', async () => {
    const id = await connect('alice', 'bob');
    const carolsOwn = await connect('carol', 'dave');
    const [alice, bob, carol] = await Promise.all([live({ user_id: 'alice' }), live({ user_id: 'bob' }), live({ user_id: 'carol' })]);

    const sent = await send(id, 'alice', 'hi bob');
    const atBob = await bob.next((f) => f.type === 'message');
    expect(atBob).toEqual({ type: 'message', connection_id: id, message: sent });
    expect((await alice.next((f) => f.type === 'message')).message.seq).toBe(1);

    await send(id, 'bob', 'hi alice');
    expect((await alice.waitForMessages(id, 2)).map((f) => f.message.content)).toEqual(['hi bob', 'hi alice']);

    // Carol hears about her own connection, and only that: what alice and bob said never reaches her.
    await send(carolsOwn, 'dave', 'hi carol');
    await carol.next((f) => f.type === 'message');
    expect(carol.messages().map((f) => f.connection_id)).toEqual([carolsOwn]);
    expect(JSON.stringify(carol.frames)).not.toContain('hi bob');
  });

  it('lets two clients chat over their sockets alone: send, acknowledge, receive, read', async () => {
    const id = await connect('rex', 'sue');
    const [rex, sue, tim] = await Promise.all([live({ user_id: 'rex' }), live({ user_id: 'sue' }), live({ user_id: 'tim' })]);
    rex.send({ type: 'send', connection_id: id, content: 'hi sue', client_id: 'rex-1' });
    const sent = await rex.next((f) => f.type === 'sent');
    expect(sent).toMatchObject({ client_id: 'rex-1', message: { connection_id: id, seq: 1, sender_id: 'rex', content: 'hi sue' } });
    expect((await sue.next((f) => f.type === 'message')).message).toEqual(sent.message);
    sue.send({ type: 'read', connection_id: id, up_to: 1 });
    expect(await rex.next((f) => f.type === 'read')).toEqual({ type: 'read', connection_id: id, user_id: 'sue', up_to: 1 });

    sue.send({ type: 'send', connection_id: id, content: 'hi rex' });
    expect((await rex.next((f) => f.type === 'message' && f.message.seq === 2)).message.content).toBe('hi rex');

    // A resent frame with the same client_id is acknowledged again, and stored once.
    rex.send({ type: 'send', connection_id: id, content: 'hi sue', client_id: 'rex-1' });
    await until(() => rex.frames.filter((f) => f.type === 'sent').length === 2);
    expect(rex.frames.filter((f) => f.type === 'sent').map((f) => f.message.seq)).toEqual([1, 1]);
    // Someone else cannot write into it, and hears nothing of it.
    tim.send({ type: 'send', connection_id: id, content: 'me too', client_id: 'tim-1' });
    expect(await tim.next((f) => f.type === 'error')).toMatchObject({ client_id: 'tim-1', error: { code: 'connection_not_found' } });
    expect(tim.messages()).toEqual([]);
    const stored = (await server.get(`/api/v1/connections/${id}/messages`)).body;
    expect(stored.map((m: any) => [m.seq, m.sender_id, m.content])).toEqual([
      [1, 'rex', 'hi sue'],
      [2, 'sue', 'hi rex'],
    ]);
    // Bad frames get an error frame, not a closed socket.
    rex.send({ type: 'send', connection_id: id, content: '' });
    expect((await rex.next((f) => f.type === 'error')).error.code).toBe('invalid_text');
  });

  it('refuses a socket for someone else’s connection before it opens', async () => {
    const id = await connect('erin', 'finn');
    await expect(LiveClient.connect(server.baseUrl, { user_id: 'gail', connection_id: id })).rejects.toMatchObject({ status: 404 });
    await expect(LiveClient.connect(server.baseUrl, {})).rejects.toMatchObject({ status: 422 });
    await expect(LiveClient.connect(server.baseUrl, { user_id: 'gail', after: 'nonsense' })).rejects.toMatchObject({ status: 422 });
    // Without an upgrade it is still an API answer, not a bare 404.
    const plain = await server.get('/api/v1/ws?user_id=gail');
    expect([plain.status, plain.body.error.code]).toEqual([426, 'upgrade_required']);
  });

  it('passes typing signals to the other participant only, and read receipts to both', async () => {
    const id = await connect('hana', 'ivan');
    const [hana, ivan, jon] = await Promise.all([live({ user_id: 'hana' }), live({ user_id: 'ivan' }), live({ user_id: 'jon' })]);
    hana.send({ type: 'typing', connection_id: id });
    expect(await ivan.next((f) => f.type === 'typing')).toEqual({ type: 'typing', connection_id: id, user_id: 'hana' });

    // Someone outside the connection cannot pretend to type in it.
    jon.send({ type: 'typing', connection_id: id });
    expect((await jon.next((f) => f.type === 'error')).error.code).toBe('connection_not_found');
    jon.send({ type: 'shout' });
    expect((await jon.next((f) => f.type === 'error' && f.error.code === 'invalid_frame')).type).toBe('error');
    jon.send({ type: 'ping' });
    await jon.next((f) => f.type === 'pong');

    await send(id, 'hana', 'are you there?');
    await server.post(`/api/v1/connections/${id}/read`, { user_id: 'ivan', up_to: 1 });
    const receipt = { type: 'read', connection_id: id, user_id: 'ivan', up_to: 1 };
    expect(await hana.next((f) => f.type === 'read')).toEqual(receipt);
    expect(await ivan.next((f) => f.type === 'read')).toEqual(receipt);
    expect(hana.frames.filter((f) => f.type === 'typing')).toEqual([]);
  });

  it('relays at most one typing signal a second per user and connection, however many sockets send them', async () => {
    const id = await connect('vera', 'walt');
    const other = await connect('vera', 'xena');
    const walt = await live({ user_id: 'walt' });
    const xena = await live({ user_id: 'xena' });
    // Vera types on three sockets at once (tabs, devices), ten signals a second each.
    const vera = await Promise.all([live({ user_id: 'vera' }), live({ user_id: 'vera' }), live({ user_id: 'vera', connection_id: id })]);
    const [first] = vera;
    first!.send({ type: 'typing', connection_id: other }); // another connection has a budget of its own
    const elapsed = await floodTyping(vera, id, 2200);
    // Everything relayed so far reaches walt before this message does.
    await send(id, 'vera', 'done typing');
    await walt.next((f) => f.type === 'message');
    const relayed = walt.frames.filter((f) => f.type === 'typing');
    expect(relayed.every((f) => f.connection_id === id && f.user_id === 'vera')).toBe(true);
    expect(relayed.length).toBeGreaterThanOrEqual(2);
    expect(relayed.length).toBeLessThanOrEqual(Math.floor(elapsed / 1000) + 1);
    expect((await xena.next((f) => f.type === 'typing')).connection_id).toBe(other);
    // Dropped signals are not errors.
    expect(vera.flatMap((socket) => socket.frames).filter((f) => f.type === 'error')).toEqual([]);
  });

  it('refuses frames past a budget, and sockets past a number per user', async () => {
    const flood = await live({ user_id: 'quinn' });
    for (let i = 0; i < 40; i++) flood.send({ type: 'ping' });
    await flood.next((f) => f.type === 'error' && f.error.code === 'rate_limited');
    const pongs = () => flood.frames.filter((f) => f.type === 'pong').length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pongs()).toBeGreaterThanOrEqual(20);
    expect(pongs()).toBeLessThan(30);

    const many = await Promise.all(Array.from({ length: 19 }, () => live({ user_id: 'quinn' })));
    await expect(LiveClient.connect(server.baseUrl, { user_id: 'quinn' })).rejects.toMatchObject({ status: 429 });
    await many[0]!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    clients.push(await LiveClient.connect(server.baseUrl, { user_id: 'quinn' }));
  });

  it('tells both users when a connection starts and ends', async () => {
    const [kai, lu] = await Promise.all([live({ user_id: 'kai' }), live({ user_id: 'lu' })]);
    const id = await connect('kai', 'lu');
    expect((await lu.next((f) => f.type === 'connection')).connection).toMatchObject({ id, status: 'active', users: ['kai', 'lu'] });
    await server.del(`/api/v1/connections/${id}`);
    expect((await kai.next((f) => f.type === 'connection' && f.connection.status === 'ended')).connection.id).toBe(id);
  });

  it('after a reconnect with the last seq seen, sends exactly the missed messages, then live ones', async () => {
    const id = await connect('mia', 'noah');
    const first = await live({ user_id: 'noah' });
    for (const text of ['one', 'two']) await send(id, 'mia', text);
    await first.waitForMessages(id, 2);
    await first.close();

    for (const text of ['three', 'four', 'five']) await send(id, 'mia', text);
    const again = await live({ user_id: 'noah', after: `${id}:2` });
    expect(again.messages(id).map((f) => [f.message.seq, f.message.content])).toEqual([
      [3, 'three'],
      [4, 'four'],
      [5, 'five'],
    ]);
    // The backlog comes before "ready".
    expect(again.frames.findIndex((f) => f.type === 'ready')).toBe(3);
    await send(id, 'mia', 'six');
    expect((await again.waitForMessages(id, 4)).map((f) => f.message.seq)).toEqual([3, 4, 5, 6]);

    // The single-connection form: connection_id with a bare seq.
    const scoped = await live({ user_id: 'noah', connection_id: id, after: '4' });
    expect(scoped.messages(id).map((f) => f.message.seq)).toEqual([5, 6]);
    // A bare seq alone: what a client with one connection may send.
    const bare = await live({ user_id: 'noah', after: '3' });
    expect(bare.messages(id).map((f) => f.message.seq)).toEqual([4, 5, 6]);
  });

  it('loses and repeats nothing when messages keep coming while the client reconnects', async () => {
    const id = await connect('olga', 'pete');
    const received = new Map<number, number>();
    let client = await live({ user_id: 'pete' });
    let sending = true;
    const sender = (async () => {
      let n = 0;
      while (sending) await send(id, 'olga', `m${++n}`);
      return n;
    })();
    for (let round = 0; round < 5; round++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      for (const f of client.messages(id)) received.set(f.message.seq, (received.get(f.message.seq) ?? 0) + 1);
      const last = Math.max(0, ...client.messages(id).map((f) => f.message.seq), ...received.keys());
      await client.close();
      client = await live({ user_id: 'pete', after: `${id}:${last}` });
    }
    sending = false;
    const total = await sender;
    await client.waitForMessages(id, total - Math.max(0, ...received.keys()));
    for (const f of client.messages(id)) received.set(f.message.seq, (received.get(f.message.seq) ?? 0) + 1);
    expect([...received.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect([...received.values()].every((count) => count === 1)).toBe(true);
    // In order within each socket.
    const seqs = client.messages(id).map((f) => f.message.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });
});

describe('live sockets at shutdown', () => {
  it('tells clients it is going away, and does not wait for one that never answers', async () => {
    const server = await ChatifyServer.start({ SHUTDOWN_TIMEOUT_MS: '2000' });
    const polite = await LiveClient.connect(server.baseUrl, { user_id: 'tom' });
    const closed = new Promise<number>((resolve) => polite.socket.once('close', (code) => resolve(code)));
    // A client that completes the upgrade and then never reads or answers again.
    const { port } = new URL(server.baseUrl);
    const rude = connectTcp(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => rude.once('connect', () => resolve()));
    rude.write(
      'GET /api/v1/ws?user_id=uma HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise<void>((resolve) => rude.once('data', (data) => (expect(String(data)).toContain('101'), resolve())));
    rude.pause();

    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await closed).toBe(1001);
    rude.destroy();
  });
});
