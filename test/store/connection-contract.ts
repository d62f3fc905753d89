import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unreadCountOf, type Connection, type NewConnectionMessage, type StoredPushTarget } from '../../src/people/types.js';
import type { ChatifyStore } from '../../src/store/open-store.js';

/** How a contract run gets at one kind of store. */
export interface ConnectionStoreFactory {
  /** Opens the store, on the same data each time within one run. */
  open(): Promise<ChatifyStore>;
  /** Removes what the run created. */
  dispose?(): Promise<void>;
}

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

/** A fresh user id per test, with the characters Firebase keys may not hold. */
const user = (name: string) => `${name}.${randomUUID().slice(0, 8)}#$[x]/%@example.com`;

export function newConnection(user1Id: string, user2Id: string, overrides: Partial<Connection> = {}): Connection {
  return {
    id: randomUUID(),
    user1Id,
    user2Id,
    status: 'active',
    createdAt: at(0),
    endedAt: null,
    lastActivity: at(0),
    lastSeq: 0,
    user1ReadUpTo: 0,
    user2ReadUpTo: 0,
    ...overrides,
  };
}

const text = (senderId: string, content: string, second = 1, idempotencyKey: string | null = null): NewConnectionMessage => ({
  id: randomUUID(),
  senderId,
  content,
  timestamp: at(second),
  idempotencyKey,
});

const pushTarget = (userId: string, id: string, createdAt: string): StoredPushTarget => ({
  id,
  userId,
  target: { kind: 'webpush', subscription: { endpoint: `https://push.example.com/${id}`, keys: { p256dh: 'p256dh-key', auth: 'auth-key' } } },
  createdAt,
});

/** The behaviour every ConnectionStore must have, whatever keeps the data. */
export function connectionContract(name: string, factory: ConnectionStoreFactory): void {
  describe(`${name} connection store contract`, () => {
    let store: ChatifyStore;
    beforeAll(async () => {
      store = await factory.open();
    });
    afterAll(async () => {
      await store?.close();
      await factory.dispose?.();
    });

    /** A new active connection between two new users. */
    async function connected(): Promise<{ connection: Connection; ann: string; bob: string }> {
      const ann = user('ann');
      const bob = user('bob');
      const { connection } = await store.createConnection(newConnection(ann, bob));
      return { connection, ann, bob };
    }

    it('creates and reads a connection', async () => {
      const connection = newConnection(user('ann'), user('bob'));
      expect(await store.createConnection(connection)).toEqual({ connection, created: true });
      expect(await store.getConnection(connection.id)).toEqual(connection);
      expect(await store.getConnection(randomUUID())).toBeNull();
      expect(await store.getConnection('not.a/key')).toBeNull();
    });

    it('keeps one active connection per pair, in either order, until it ends', async () => {
      const { connection, ann, bob } = await connected();
      expect(await store.createConnection(newConnection(ann, bob))).toEqual({ connection, created: false });
      expect(await store.createConnection(newConnection(bob, ann))).toEqual({ connection, created: false });
      expect(await store.createConnection(newConnection(ann, user('cat')))).toMatchObject({ created: true });

      await store.endConnection(connection.id, at(5));
      const next = newConnection(bob, ann, { createdAt: at(6), lastActivity: at(6) });
      expect(await store.createConnection(next)).toEqual({ connection: next, created: true });
      expect(await store.createConnection(newConnection(ann, bob))).toEqual({ connection: next, created: false });
      expect((await store.listConnections(ann, { limit: 10 })).map((s) => s.connection.id)).toContain(connection.id);
    });

    it("lists a user's connections by last activity with their newest message, filtered by status, and only theirs", async () => {
      const ann = user('ann');
      const [bob, cat, dan] = [user('bob'), user('cat'), user('dan')];
      const withBob = newConnection(ann, bob);
      const withCat = newConnection(cat, ann);
      const withDan = newConnection(ann, dan, { createdAt: at(5), lastActivity: at(5) });
      for (const c of [withBob, withCat, withDan]) await store.createConnection(c);
      await store.appendConnectionMessage(withCat.id, text(cat, 'hi ann', 10));
      const latest = await store.appendConnectionMessage(withBob.id, text(bob, 'hi from bob', 20));
      await store.endConnection(withDan.id, at(30));

      const list = await store.listConnections(ann, { limit: 10 });
      expect(list.map((s) => s.connection.id)).toEqual([withBob.id, withCat.id, withDan.id]);
      expect(list[0]!.lastMessage).toEqual(latest!.message);
      expect(list[1]!.lastMessage).toMatchObject({ seq: 1, content: 'hi ann', senderId: cat });
      expect(list[2]).toEqual({ connection: { ...withDan, status: 'ended', endedAt: at(30) }, lastMessage: null });

      expect((await store.listConnections(ann, { limit: 2 })).map((s) => s.connection.id)).toEqual([withBob.id, withCat.id]);
      expect((await store.listConnections(ann, { limit: 10, status: 'active' })).map((s) => s.connection.id)).toEqual([
        withBob.id,
        withCat.id,
      ]);
      expect((await store.listConnections(ann, { limit: 10, status: 'ended' })).map((s) => s.connection.id)).toEqual([withDan.id]);
      expect((await store.listConnections(bob, { limit: 10 })).map((s) => s.connection.id)).toEqual([withBob.id]);
      expect((await store.listConnections(cat, { limit: 10 })).map((s) => s.connection.id)).toEqual([withCat.id]);
      expect(await store.listConnections(user('nobody'), { limit: 10 })).toEqual([]);
    });

    it("appends with seq 1, 2, 3 and moves lastSeq, lastActivity and the sender's read position", async () => {
      const { connection, ann, bob } = await connected();
      const first = text(ann, 'one', 1);
      expect(await store.appendConnectionMessage(connection.id, first)).toEqual({
        message: { connectionId: connection.id, seq: 1, id: first.id, senderId: ann, content: 'one', timestamp: at(1) },
        replayed: false,
      });
      expect((await store.appendConnectionMessage(connection.id, text(ann, 'two', 2)))!.message.seq).toBe(2);
      expect((await store.appendConnectionMessage(connection.id, text(bob, 'three', 3)))!.message.seq).toBe(3);

      const after = (await store.getConnection(connection.id))!;
      expect(after).toEqual({ ...connection, lastSeq: 3, lastActivity: at(3), user1ReadUpTo: 2, user2ReadUpTo: 3 });
      expect(unreadCountOf(after, ann)).toBe(1);
      expect(unreadCountOf(after, bob)).toBe(0);
    });

    it('refuses to append to an ended or missing connection, writing nothing', async () => {
      const { connection, ann } = await connected();
      await store.endConnection(connection.id, at(5));
      expect(await store.appendConnectionMessage(connection.id, text(ann, 'late'))).toBeNull();
      expect(await store.appendConnectionMessage(connection.id, text(ann, 'late', 6, 'late-key'))).toBeNull();
      expect(await store.appendConnectionMessage(randomUUID(), text(ann, 'nowhere'))).toBeNull();
      expect(await store.readConnectionMessages(connection.id, { limit: 10 })).toEqual([]);
      expect(await store.getConnection(connection.id)).toMatchObject({ lastSeq: 0, lastActivity: at(0) });
    });

    it('replays a used idempotency key without writing, per connection', async () => {
      const { connection, ann, bob } = await connected();
      const sent = await store.appendConnectionMessage(connection.id, text(ann, 'once', 1, 'key-1'));
      await store.appendConnectionMessage(connection.id, text(bob, 'reply', 2));
      const retry = await store.appendConnectionMessage(connection.id, text(ann, 'once again', 3, 'key-1'));
      expect(retry).toEqual({ message: sent!.message, replayed: true });
      expect(await store.getConnection(connection.id)).toMatchObject({ lastSeq: 2, lastActivity: at(2), user1ReadUpTo: 1 });
      expect((await store.readConnectionMessages(connection.id, { limit: 10 })).map((m) => m.content)).toEqual(['once', 'reply']);

      const other = await connected();
      expect(await store.appendConnectionMessage(other.connection.id, text(other.ann, 'elsewhere', 4, 'key-1'))).toMatchObject({
        message: { seq: 1, content: 'elsewhere' },
        replayed: false,
      });
      // A retry that arrives after the connection ended still gets the message it sent.
      await store.endConnection(connection.id, at(9));
      expect(await store.appendConnectionMessage(connection.id, text(ann, 'once', 10, 'key-1'))).toEqual({
        message: sent!.message,
        replayed: true,
      });
    });

    it('settles races between two instances: one active connection per pair, one message per key, one ending', async () => {
      const second = await factory.open();
      try {
        const stores = [store, second];
        const ann = user('ann');
        const bob = user('bob');
        const created = await Promise.all(
          Array.from({ length: 8 }, (_, i) => stores[i % 2]!.createConnection(i % 3 ? newConnection(ann, bob) : newConnection(bob, ann))),
        );
        expect(created.filter((r) => r.created)).toHaveLength(1);
        const { connection } = created.find((r) => r.created)!;
        expect(created.map((r) => r.connection.id)).toEqual(created.map(() => connection.id));
        expect(await store.listConnections(ann, { limit: 10 })).toHaveLength(1);

        const sent = await Promise.all(
          Array.from({ length: 6 }, (_, i) => stores[i % 2]!.appendConnectionMessage(connection.id, text(ann, 'once?', 1, 'same-key'))),
        );
        expect(sent.filter((r) => !r!.replayed)).toHaveLength(1);
        expect(new Set(sent.map((r) => r!.message.id)).size).toBe(1);
        expect(await store.readConnectionMessages(connection.id, { limit: 10 })).toHaveLength(1);
        expect((await second.getConnection(connection.id))!.lastSeq).toBe(1);

        const ended = await Promise.all(stores.map((s) => s.endConnection(connection.id, at(9))));
        expect(ended.filter((c) => c !== null)).toHaveLength(1);
        const again = await Promise.all(stores.map((s) => s.createConnection(newConnection(ann, bob))));
        expect(again.filter((r) => r.created)).toHaveLength(1);
      } finally {
        await second.close();
      }
    });

    it('gives 20 concurrent appends 20 distinct consecutive seqs', async () => {
      const { connection, ann, bob } = await connected();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.appendConnectionMessage(connection.id, text(i % 2 ? ann : bob, `c${i}`))),
      );
      expect(results.map((r) => r!.message.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const stored = await store.readConnectionMessages(connection.id, { limit: 100 });
      expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(new Set(stored.map((m) => m.content)).size).toBe(20);
      expect((await store.getConnection(connection.id))!.lastSeq).toBe(20);
    });

    it('shows the connection to every reader while appends to it are under way', async () => {
      const { connection, ann } = await connected();
      const appends: Promise<unknown>[] = [];
      const reads: Promise<Connection | null>[] = [];
      for (let i = 0; i < 10; i++) {
        appends.push(store.appendConnectionMessage(connection.id, text(ann, `r${i}`)));
        reads.push(store.getConnection(connection.id));
        await new Promise(setImmediate);
        reads.push(store.getConnection(connection.id));
      }
      await Promise.all(appends);
      expect((await Promise.all(reads)).map((c) => c?.id)).toEqual(reads.map(() => connection.id));
    });

    it('reads messages in seq order: after a seq, before a seq, or the newest', async () => {
      const { connection, ann } = await connected();
      for (let i = 1; i <= 6; i++) await store.appendConnectionMessage(connection.id, text(ann, `m${i}`, i));
      const seqs = async (page: { limit: number; after?: number; before?: number }) =>
        (await store.readConnectionMessages(connection.id, page)).map((m) => m.seq);
      expect(await seqs({ limit: 2, after: 2 })).toEqual([3, 4]);
      expect(await seqs({ limit: 10, after: 4 })).toEqual([5, 6]);
      expect(await seqs({ limit: 10, after: 0 })).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await seqs({ limit: 10, after: 6 })).toEqual([]);
      expect(await seqs({ limit: 2, before: 5 })).toEqual([3, 4]);
      expect(await seqs({ limit: 10, before: 3 })).toEqual([1, 2]);
      expect(await seqs({ limit: 10, before: 1 })).toEqual([]);
      expect(await seqs({ limit: 3 })).toEqual([4, 5, 6]);
      expect((await store.readConnectionMessages(connection.id, { limit: 1, after: 1 }))[0]).toMatchObject({
        connectionId: connection.id,
        seq: 2,
        senderId: ann,
        content: 'm2',
        timestamp: at(2),
      });
      expect(await store.readConnectionMessages(randomUUID(), { limit: 10 })).toEqual([]);
    });

    it('moves a read position forward only, never past lastSeq, and only for participants', async () => {
      const { connection, ann, bob } = await connected();
      for (let i = 1; i <= 4; i++) await store.appendConnectionMessage(connection.id, text(ann, `m${i}`, i));
      expect(await store.markRead(connection.id, bob, 2)).toMatchObject({ user1ReadUpTo: 4, user2ReadUpTo: 2, lastSeq: 4 });
      expect(await store.markRead(connection.id, bob, 1)).toMatchObject({ user2ReadUpTo: 2 });
      expect(await store.markRead(connection.id, bob, 99)).toMatchObject({ user1ReadUpTo: 4, user2ReadUpTo: 4 });
      expect(unreadCountOf((await store.getConnection(connection.id))!, bob)).toBe(0);
      expect(await store.markRead(connection.id, user('eve'), 3)).toBeNull();
      expect(await store.markRead(randomUUID(), bob, 3)).toBeNull();
    });

    it('ends a connection once', async () => {
      const { connection } = await connected();
      expect(await store.endConnection(connection.id, at(40))).toEqual({ ...connection, status: 'ended', endedAt: at(40) });
      expect(await store.endConnection(connection.id, at(41))).toBeNull();
      expect(await store.endConnection(randomUUID(), at(41))).toBeNull();
      expect(await store.getConnection(connection.id)).toMatchObject({ status: 'ended', endedAt: at(40) });
    });

    it('keeps push targets per user: the same id replaces, removal says whether it was there', async () => {
      const ann = user('ann');
      await store.putPushTarget(pushTarget(ann, 'device-1', at(1)));
      await store.putPushTarget(pushTarget(ann, 'device.2', at(2)));
      const refreshed: StoredPushTarget = { id: 'device-1', userId: ann, target: { kind: 'fcm', token: 'fcm-token' }, createdAt: at(4) };
      await store.putPushTarget(refreshed);

      const byId = (targets: StoredPushTarget[]) => [...targets].sort((a, b) => a.id.localeCompare(b.id));
      expect(byId(await store.listPushTargets(ann))).toEqual([refreshed, pushTarget(ann, 'device.2', at(2))]);
      expect(await store.removePushTarget(ann, 'device.2')).toBe(true);
      expect(await store.removePushTarget(ann, 'device.2')).toBe(false);
      expect(await store.listPushTargets(ann)).toEqual([refreshed]);
      expect(await store.listPushTargets(user('nobody'))).toEqual([]);
    });

    it('pages through a user’s connections with a cursor, ties on activity broken by id', async () => {
      const zed = user('zed');
      // Seven connections; three share one moment of last activity.
      const activity = [5, 9, 9, 2, 7, 9, 1];
      const made: Connection[] = [];
      for (const [i, second] of activity.entries()) {
        made.push((await store.createConnection(newConnection(zed, user(`peer${i}`), { lastActivity: at(second) }))).connection);
      }
      const order = [...made].sort((a, b) => (a.lastActivity === b.lastActivity ? (a.id < b.id ? 1 : -1) : a.lastActivity < b.lastActivity ? 1 : -1));
      const seen: string[] = [];
      let before: { lastActivity: string; id: string } | undefined;
      for (let page = 0; page < 10; page++) {
        const summaries = await store.listConnections(zed, { limit: 3, before });
        if (summaries.length === 0) break;
        seen.push(...summaries.map((s) => s.connection.id));
        const last = summaries.at(-1)!.connection;
        before = { lastActivity: last.lastActivity, id: last.id };
      }
      expect(seen).toEqual(order.map((c) => c.id));
    });

    it('gives a device to one user only: registered by another, the first stops being notified on it', async () => {
      const ann = user('ann');
      const bob = user('bob');
      await store.putPushTarget(pushTarget(ann, 'shared-phone', at(1)));
      await store.putPushTarget(pushTarget(bob, 'shared-phone', at(2)));
      expect(await store.listPushTargets(ann)).toEqual([]);
      expect(await store.listPushTargets(bob)).toEqual([pushTarget(bob, 'shared-phone', at(2))]);
      expect(await store.removePushTarget(ann, 'shared-phone')).toBe(false);
      // And back again.
      await store.putPushTarget(pushTarget(ann, 'shared-phone', at(3)));
      expect(await store.listPushTargets(bob)).toEqual([]);
      expect(await store.listPushTargets(ann)).toEqual([pushTarget(ann, 'shared-phone', at(3))]);
    });

    it('keeps connections, messages and push targets across close and reopen', async () => {
      const { connection, ann, bob } = await connected();
      await store.appendConnectionMessage(connection.id, text(ann, 'durable', 1, 'durable-key'));
      await store.markRead(connection.id, bob, 1);
      await store.putPushTarget(pushTarget(bob, 'device-1', at(2)));
      await store.close();
      store = await factory.open();
      expect(await store.getConnection(connection.id)).toMatchObject({ lastSeq: 1, user1ReadUpTo: 1, user2ReadUpTo: 1 });
      expect((await store.readConnectionMessages(connection.id, { limit: 10 })).map((m) => m.content)).toEqual(['durable']);
      expect((await store.listConnections(bob, { limit: 10 }))[0]!.lastMessage).toMatchObject({ content: 'durable' });
      expect(await store.listPushTargets(bob)).toHaveLength(1);
      expect(await store.createConnection(newConnection(bob, ann))).toMatchObject({ connection: { id: connection.id }, created: false });
      expect(await store.appendConnectionMessage(connection.id, text(ann, 'again', 2, 'durable-key'))).toMatchObject({ replayed: true });
    });
  });
}
