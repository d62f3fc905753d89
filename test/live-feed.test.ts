import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalLiveHub } from '../src/coordination/local-live-hub.js';
import type { ConnectionStore } from '../src/people/connection-store.js';
import { LiveFeed, type FeedEvent } from '../src/people/live-feed.js';
import type { Connection, ConnectionMessage } from '../src/people/types.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const now = () => new Date().toISOString();

function newConnection(user1: string, user2: string): Connection {
  const at = now();
  return { id: randomUUID(), user1Id: user1, user2Id: user2, status: 'active', createdAt: at, endedAt: null, lastActivity: at, lastSeq: 0, user1ReadUpTo: 0, user2ReadUpTo: 0 };
}

/**
 * The feed against a real store and hub, with publishes delivered out of order or lost, as they can
 * be between instances.
 */
describe('LiveFeed', () => {
  const stores: SqliteStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  async function setup(storeFor: (store: SqliteStore) => ConnectionStore = (s) => s) {
    const store = new SqliteStore({ path: ':memory:', synchronous: 'NORMAL' });
    stores.push(store);
    const hub = new LocalLiveHub();
    const events: FeedEvent[] = [];
    const open = (userId: string) => LiveFeed.open({ store: storeFor(store), hub }, userId, { after: new Map() }, (e) => events.push(e));
    const append = async (connection: Connection, sender: string, content: string) =>
      (await store.appendConnectionMessage(connection.id, { id: randomUUID(), senderId: sender, content, timestamp: now(), idempotencyKey: null }))!.message;
    const seqsOf = (connectionId: string) =>
      events.filter((e): e is Extract<FeedEvent, { type: 'message' }> => e.type === 'message' && e.connectionId === connectionId).map((e) => e.message.seq);
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    return { store, hub, events, open, append, seqsOf, until };
  }

  it('sends the messages of a connection created after it opened in order, whatever order their news arrives in', async () => {
    const { store, hub, open, append, seqsOf, until } = await setup();
    const feed = await open('bea');
    const { connection } = await store.createConnection(newConnection('abe', 'bea'));
    const first = await append(connection, 'abe', 'one');
    const second = await append(connection, 'abe', 'two');
    // The second message's news comes first, and the connection's own news last.
    await hub.publish('bea', { type: 'message', connectionId: connection.id, message: second });
    await hub.publish('bea', { type: 'message', connectionId: connection.id, message: first });
    await hub.publish('bea', { type: 'connection', connection });
    await until(() => seqsOf(connection.id).length >= 2);
    expect(seqsOf(connection.id)).toEqual([1, 2]);
    feed.close();
  });

  it('waits for a message whose seq is taken but whose write has not landed yet, instead of skipping it', async () => {
    // Seq 2 is invisible for a moment: another instance took it and is still writing it.
    let hideSecond = true;
    const { store, hub, open, append, seqsOf, until } = await setup((real) => ({
      ...bind(real),
      readConnectionMessages: async (id, page) =>
        (await real.readConnectionMessages(id, page)).filter((m: ConnectionMessage) => !(hideSecond && m.seq === 2)),
    }));
    const { connection } = await store.createConnection(newConnection('cal', 'dee'));
    const feed = await open('dee');
    await append(connection, 'cal', 'one');
    await append(connection, 'cal', 'two');
    const third = await append(connection, 'cal', 'three');
    setTimeout(() => (hideSecond = false), 60);
    await hub.publish('dee', { type: 'message', connectionId: connection.id, message: third });
    await until(() => seqsOf(connection.id).length >= 3);
    expect(seqsOf(connection.id)).toEqual([1, 2, 3]);
    feed.close();
  });

  it('catches up when the hub says events were lost', async () => {
    let onMissed: (() => void) | undefined;
    const { store, hub, events, append, seqsOf, until } = await setup();
    const lossyHub = {
      publish: hub.publish.bind(hub),
      subscribe: (userId: string, listener: Parameters<LocalLiveHub['subscribe']>[1], options?: Parameters<LocalLiveHub['subscribe']>[2]) => {
        onMissed = options?.onMissed;
        return hub.subscribe(userId, listener, options);
      },
    };
    const { connection } = await store.createConnection(newConnection('eli', 'fay'));
    const feed = await LiveFeed.open({ store, hub: lossyHub }, 'fay', { after: new Map() }, (e) => events.push(e));
    await append(connection, 'eli', 'lost in transit'); // never published
    onMissed!();
    await until(() => seqsOf(connection.id).length >= 1);
    expect(seqsOf(connection.id)).toEqual([1]);
    feed.close();
  });
});

/** The store's methods bound to it, so a test can replace one. */
function bind(store: SqliteStore): ConnectionStore {
  const methods = [
    'createConnection', 'getConnection', 'listConnections', 'endConnection', 'appendConnectionMessage',
    'readConnectionMessages', 'markRead', 'putPushTarget', 'listPushTargets', 'removePushTarget',
  ] as const;
  return Object.fromEntries(methods.map((name) => [name, (store[name] as (...args: unknown[]) => unknown).bind(store)])) as unknown as ConnectionStore;
}
