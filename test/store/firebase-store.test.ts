import { randomUUID } from 'node:crypto';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getDatabase, type Query } from 'firebase-admin/database';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirebaseStore } from '../../src/store/firebase/firebase-store.js';
import { FirebaseServer } from '../support/firebase.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { connectionContract } from './connection-contract.js';
import { newSession, personality, storeContract } from './store-contract.js';
import { treeContract } from './tree-contract.js';
import { memoryContract } from './memory-contract.js';
import type { NewMessage } from '../../src/chat/types.js';

let server: FirebaseServer;
const namespace = `chatify-${randomUUID().slice(0, 8)}`;

/** Every orderByChild query the store makes in this file's tests: the node it searches, and the child. */
const ordered: { path: string; child: string }[] = [];

beforeAll(async () => {
  server = await FirebaseServer.start();
  process.env['FIREBASE_DATABASE_EMULATOR_HOST'] = server.host;
  // Queries share one prototype across apps: record orderByChild on it for the rules test below.
  const app = initializeApp({ databaseURL: server.databaseUrl(namespace) }, `spy-${randomUUID()}`);
  const query = Object.getPrototypeOf(Object.getPrototypeOf(getDatabase(app).ref())) as { orderByChild(this: Query, child: string): Query };
  const orderByChild = query.orderByChild;
  query.orderByChild = function (this: Query, child: string) {
    ordered.push({ path: decodeURIComponent(new URL(this.ref.toString()).pathname), child });
    return orderByChild.call(this, child);
  };
  await deleteApp(app);
});
afterAll(() => server?.stop());

storeContract('Firebase Realtime Database', {
  open: async () => FirebaseStore.open({ databaseUrl: server.databaseUrl(namespace), timeoutMs: 5000 }),
});

treeContract('Firebase Realtime Database', {
  open: async () => FirebaseStore.open({ databaseUrl: server.databaseUrl(`${namespace}-tree`), timeoutMs: 5000 }),
});

memoryContract('Firebase Realtime Database', 'firebase', {
  open: async () => FirebaseStore.open({ databaseUrl: server.databaseUrl(`${namespace}-memories`), timeoutMs: 5000 }),
});

connectionContract('Firebase Realtime Database', {
  open: async () => FirebaseStore.open({ databaseUrl: server.databaseUrl(`${namespace}-connections`), timeoutMs: 5000 }),
});

describe('Firebase layout', () => {
  it("keeps the seed's layout: templates/{id}, userSessions/{id} with its fields, one child per message, plus the tree", async () => {
    const databaseUrl = server.databaseUrl(`layout-${randomUUID().slice(0, 8)}`);
    const store = FirebaseStore.open({ databaseUrl, timeoutMs: 5000 });
    const session = newSession('user.with.dots@example.com');
    await store.createSession(session);
    await store.insertPersonality(personality('friendly-assistant'));
    await store.appendExchange(session.id, [
      { role: 'user', content: 'Hi', tokens: 1, createdAt: '2026-01-01T00:00:01.000Z' },
      { role: 'assistant', content: "Hey! What's up?", tokens: 4, createdAt: '2026-01-01T00:00:02.000Z' },
    ], '2026-01-01T00:00:02.000Z');

    const app = initializeApp({ databaseURL: databaseUrl }, `raw-${randomUUID()}`);
    const raw = getDatabase(app);
    const read = async (path: string) => (await raw.ref(path).once('value')).val();
    expect(await read(`userSessions/${session.id}/user_id`)).toBe('user.with.dots@example.com');
    expect(await read(`userSessions/${session.id}/template_id`)).toBe('friendly-assistant');
    expect(await read(`userSessions/${session.id}/status`)).toBe('active');
    expect(await read(`userSessions/${session.id}/message_count`)).toBe(1);
    expect(await read(`userSessions/${session.id}/conversation_history`)).toEqual({
      '0000000001': { role: 'user', content: 'Hi', tokens: 1, timestamp: '2026-01-01T00:00:01.000Z', exchange: 1, batch: 2 },
      '0000000002': { role: 'assistant', content: "Hey! What's up?", tokens: 4, timestamp: '2026-01-01T00:00:02.000Z', exchange: 1, parent_seq: 1 },
    });
    // The tree: its state, and each parent's children (0: the first messages).
    expect(await read(`userSessions/${session.id}/tree`)).toEqual({ active_seq: 2, last_seq: 2, message_count: 1 });
    expect(await read(`userSessions/${session.id}/children`)).toEqual({ '0000000000': { '0000000001': true }, '0000000001': { '0000000002': true } });
    expect(await read('templates/friendly-assistant/personalityPrompt')).toBe('You are friendly-assistant.');
    expect((await store.listSessions('user.with.dots@example.com', { limit: 5 })).items.map((s) => s.id)).toEqual([session.id]);
    await deleteApp(app);
    await store.close();
  });
});

describe('Firebase sessions stored before the tree', () => {
  const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();
  const message = (role: 'user' | 'assistant', content: string, key?: string) =>
    ({ role, content, tokens: 2, timestamp: at(1), ...(key ? { idempotency_key: key } : {}) });
  const question = (content: string): NewMessage => ({ role: 'user', content, tokens: 2, createdAt: at(9) });
  const answer = (content: string): NewMessage => ({ role: 'assistant', content, tokens: 2, createdAt: at(9) });

  /** A session as the previous version wrote it: no tree state, messages without parents, no children index. */
  async function writeTheOldWay(databaseUrl: string, id: string, messageCount: number, history: Record<number, object>, keys: Record<string, number>) {
    const app = initializeApp({ databaseURL: databaseUrl }, `old-${randomUUID()}`);
    const nodes = Object.fromEntries(Object.entries(history).map(([seq, node]) => [String(seq).padStart(10, '0'), node]));
    await getDatabase(app).ref().update({
      [`userSessions/${id}`]: {
        user_id: 'old_user', template_id: 'friendly-assistant', system_prompt: 'Be kind.', status: 'active',
        created_at: at(0), last_activity: at(8), message_count: messageCount, conversation_history: nodes,
      },
      [`userSessionIndex/old_user/${getDatabase(app).ref().push().key}`]: id,
      ...Object.fromEntries(Object.entries(keys).map(([key, seq]) => [`idempotencyKeys/${id}/${key}`, seq])),
    });
    await deleteApp(app);
  }

  it('reads an old session as a line, then continues it and branches it', async () => {
    const databaseUrl = server.databaseUrl(`old-${randomUUID().slice(0, 8)}`);
    const store = FirebaseStore.open({ databaseUrl, timeoutMs: 5000 });
    const id = randomUUID();
    try {
      await writeTheOldWay(databaseUrl, id, 3, {
        1: message('user', 'q1'), 2: message('assistant', 'a1'), 3: message('user', 'q2', 'old-key'),
        4: message('assistant', 'a2'), 5: message('user', 'q3'), 6: message('assistant', 'a3'),
      }, { 'old-key': 3 });
      const path = async () => (await store.readMessages(id, { limit: 100 })).map((m) => m.content);

      // Read: a line, the last message its leaf, the count as stored.
      expect(await store.getSession(id)).toMatchObject({ id, messageCount: 3, activeSeq: 6, status: 'active' });
      expect((await store.readMessages(id, { limit: 10 })).map((m) => [m.seq, m.parentSeq, m.content])).toEqual([
        [1, null, 'q1'], [2, 1, 'a1'], [3, 2, 'q2'], [4, 3, 'a2'], [5, 4, 'q3'], [6, 5, 'a3'],
      ]);
      expect((await store.readMessages(id, { limit: 2, beforeSeq: 5 })).map((m) => [m.seq, m.parentSeq])).toEqual([[3, 2], [4, 3]]);
      expect((await store.readTree(id, { limit: 3, afterSeq: 2 })).map((m) => [m.seq, m.parentSeq])).toEqual([[3, 2], [4, 3], [5, 4]]);
      const children = await store.childrenOf(id, [null, 2, 6]);
      expect([children.get(null), children.get(2), children.get(6)]).toEqual([[1], [3], []]);
      expect(await store.findExchange(id, 'old-key')).toMatchObject({ messageCount: 2, messages: [{ seq: 3, parentSeq: 2 }, { seq: 4, parentSeq: 3 }] });

      // Continue: below the last message, counted on from the stored count.
      expect(await store.appendExchange(id, [question('q4'), answer('a4')], at(10), 6)).toMatchObject({
        messageCount: 4, messages: [{ seq: 7, parentSeq: 6 }, { seq: 8, parentSeq: 7 }],
      });
      expect(await path()).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q4', 'a4']);

      // Branch: regenerate the second reply, then edit the first question.
      expect(await store.appendExchange(id, [answer('a2 again')], at(11), 8, 3)).toMatchObject({ messageCount: 2, messages: [{ seq: 9, parentSeq: 3 }] });
      expect(await path()).toEqual(['q1', 'a1', 'q2', 'a2 again']);
      expect(await store.appendExchange(id, [question('q1 edited'), answer('a1 edited')], at(12), 9, null)).toMatchObject({ messageCount: 1 });
      expect(await path()).toEqual(['q1 edited', 'a1 edited']);
      const branches = await store.childrenOf(id, [null, 3, 6]);
      expect([branches.get(null), branches.get(3), branches.get(6)]).toEqual([[1, 10], [4, 9], [7]]);

      // Select back: down the old line to its newest branch; or through the old reply to the continued end.
      expect(await store.selectMessage(id, 1)).toMatchObject({ messageCount: 2 });
      expect(await path()).toEqual(['q1', 'a1', 'q2', 'a2 again']);
      expect(await store.selectMessage(id, 4)).toMatchObject({ messageCount: 4 });
      expect(await path()).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q4', 'a4']);
      expect((await store.getSession(id))!.messageCount).toBe(4);
    } finally {
      await store.close();
    }
  });

  it('reads over the hole a failed old write left, and numbers new messages after every seq it handed out', async () => {
    const databaseUrl = server.databaseUrl(`old-${randomUUID().slice(0, 8)}`);
    const store = FirebaseStore.open({ databaseUrl, timeoutMs: 5000 });
    const id = randomUUID();
    try {
      // The second exchange was counted (seqs 3 and 4), then its write failed; the third was stored.
      await writeTheOldWay(databaseUrl, id, 3, {
        1: message('user', 'q1'), 2: message('assistant', 'a1'), 5: message('user', 'q3'), 6: message('assistant', 'a3'),
      }, {});
      expect((await store.readMessages(id, { limit: 10 })).map((m) => [m.seq, m.parentSeq])).toEqual([[1, null], [2, 1], [5, 2], [6, 5]]);
      expect((await store.readTree(id, { limit: 10, afterSeq: 4 })).map((m) => [m.seq, m.parentSeq])).toEqual([[5, 2], [6, 5]]);
      expect((await store.childrenOf(id, [2])).get(2)).toEqual([5]);
      expect(await store.appendExchange(id, [question('q4'), answer('a4')], at(10))).toMatchObject({
        messageCount: 4, messages: [{ seq: 7, parentSeq: 6 }, { seq: 8, parentSeq: 7 }],
      });
    } finally {
      await store.close();
    }
  });
});

describe('Firebase idempotency keys', () => {
  const exchange = (content: string, key: string, tokens = 3): NewMessage[] => [
    { role: 'user', content, tokens, createdAt: '2026-01-01T00:00:01.000Z', idempotencyKey: key },
    { role: 'assistant', content: `Reply to: ${content}`, tokens: 4, createdAt: '2026-01-01T00:00:02.000Z' },
  ];

  it('gives a key back and the active leaf back when the write of its append fails, so a retry with it is stored', async () => {
    const store = FirebaseStore.open({ databaseUrl: server.databaseUrl(`keys-${randomUUID().slice(0, 8)}`), timeoutMs: 5000 });
    try {
      const session = newSession();
      await store.createSession(session);
      // A value the database refuses: the write fails after the key was reserved and the count taken.
      await expect(store.appendExchange(session.id, exchange('hello', 'key-1', Number.NaN), '2026-01-01T00:00:02.000Z')).rejects.toThrow();
      expect(await store.findExchange(session.id, 'key-1')).toBeNull();
      const retried = await store.appendExchange(session.id, exchange('hello', 'key-1'), '2026-01-01T00:00:02.000Z');
      expect(retried?.messages.map((m) => m.content)).toEqual(['hello', 'Reply to: hello']);
      // The failed append's leaf was put back: the retry starts the conversation, counted once.
      expect(retried).toMatchObject({ messageCount: 1, messages: [{ parentSeq: null }, {}] });
      expect((await store.readMessages(session.id, { limit: 10 })).map((m) => m.content)).toEqual(['hello', 'Reply to: hello']);
      expect((await store.findExchange(session.id, 'key-1'))?.messages.map((m) => m.content)).toEqual(['hello', 'Reply to: hello']);
    } finally {
      await store.close();
    }
  });
});

describe('Firebase reads and rules', () => {
  const exchange = (i: number, content: string): NewMessage[] => [
    { role: 'user', content, tokens: 3, createdAt: '2026-01-01T00:00:01.000Z', idempotencyKey: `key-${i}` },
    { role: 'assistant', content: `Reply to: ${content}`, tokens: 4, createdAt: '2026-01-01T00:00:02.000Z' },
  ];

  it('finds a keyed exchange by path: a retry downloads that exchange, not the conversation', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: server.port });
    // The emulator host is read when the store opens: this one talks through the proxy.
    process.env['FIREBASE_DATABASE_EMULATOR_HOST'] = `127.0.0.1:${proxy.port}`;
    const store = FirebaseStore.open({ databaseUrl: server.databaseUrl(`reads-${randomUUID().slice(0, 8)}`), timeoutMs: 5000 });
    process.env['FIREBASE_DATABASE_EMULATOR_HOST'] = server.host;
    try {
      const session = newSession();
      await store.createSession(session);
      const page = 'x'.repeat(10_000);
      for (let i = 1; i <= 12; i++) await store.appendExchange(session.id, exchange(i, `${i} ${page}`), '2026-01-01T00:00:02.000Z');
      const before = proxy.received;
      const found = await store.findExchange(session.id, 'key-7');
      expect(found?.messages.map((m) => m.seq)).toEqual([13, 14]);
      expect(found?.messageCount).toBe(7);
      // The exchange is ~20 KB; the conversation ~240 KB.
      expect(proxy.received - before).toBeLessThan(40_000);
      expect(await store.findExchange(session.id, 'key-unknown')).toBeNull();
    } finally {
      await store.close();
      await proxy.down();
    }
  });

  it('finds an exchange whose key holds only a reservation by the indexed query (keys stored before they held a seq)', async () => {
    const databaseUrl = server.databaseUrl(`legacy-${randomUUID().slice(0, 8)}`);
    const store = FirebaseStore.open({ databaseUrl, timeoutMs: 5000 });
    const app = initializeApp({ databaseURL: databaseUrl }, `raw-${randomUUID()}`);
    try {
      const session = newSession();
      await store.createSession(session);
      await store.appendExchange(session.id, exchange(1, 'one'), '2026-01-01T00:00:02.000Z');
      await store.appendExchange(session.id, exchange(2, 'two'), '2026-01-01T00:00:02.000Z');
      await getDatabase(app).ref(`idempotencyKeys/${session.id}/key-2`).set(true);
      expect((await store.findExchange(session.id, 'key-2'))?.messages.map((m) => [m.seq, m.content])).toEqual([
        [3, 'two'],
        [4, 'Reply to: two'],
      ]);
      expect(ordered).toContainEqual({ path: `/userSessions/${session.id}/conversation_history`, child: 'idempotency_key' });
    } finally {
      await deleteApp(app);
      await store.close();
    }
  });

  describe('database.rules.json', () => {
    type RuleNode = { [key: string]: RuleNode | boolean | string | string[] };
    const rules = (JSON.parse(readFileSync(new URL('../../database.rules.json', import.meta.url), 'utf8')) as { rules: RuleNode }).rules;

    /** The rule node that governs a path: named children first, else the `$wildcard` one. */
    function ruleAt(path: string): RuleNode | undefined {
      let node: RuleNode | undefined = rules;
      for (const segment of path.split('/').filter(Boolean)) {
        if (!node) return undefined;
        const wildcard: string | undefined = Object.keys(node).find((key) => key.startsWith('$'));
        node = (node[segment] ?? (wildcard ? node[wildcard] : undefined)) as RuleNode | undefined;
      }
      return node;
    }

    it('deny every client read and write (the server uses the Admin SDK)', () => {
      expect([rules['.read'], rules['.write']]).toEqual([false, false]);
      const grants = (node: RuleNode): unknown[] =>
        Object.entries(node).flatMap(([key, value]) =>
          key === '.read' || key === '.write' ? (node === rules ? [] : [key]) : typeof value === 'object' && !Array.isArray(value) ? grants(value) : [],
        );
      expect(grants(rules)).toEqual([]);
    });

    it("index every child the store's queries order by, at the node each query searches", () => {
      // Every orderByChild in the store's source ran in this file's tests (the contract and the ones above)...
      const sourceDir = new URL('../../src/store/firebase/', import.meta.url);
      const inSource = readdirSync(sourceDir).flatMap((file) =>
        [...readFileSync(new URL(file, sourceDir), 'utf8').matchAll(/orderByChild\(\s*'([^']+)'/g)].map((m) => m[1]!),
      );
      expect(inSource.length).toBeGreaterThan(0);
      expect(new Set(ordered.map((q) => q.child))).toEqual(new Set(inSource));
      // ...and each searched a node whose rules index that child.
      for (const { path, child } of ordered) expect(ruleAt(path)?.['.indexOn'] ?? [], `.indexOn at ${path}`).toContain(child);
    });
  });
});
