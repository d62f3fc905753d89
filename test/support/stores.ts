import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ChatifyServer, useStoreEnv, type StoreKind } from './chatify-server.js';
import { FirebaseServer } from './firebase.js';
import { createTestDatabase, postgresConfigured } from './postgres.js';
import { openStore } from '../../src/store/open-store.js';

/**
 * Runs the same HTTP-level tests once per store: SQLite, Firebase (firebase-server), and
 * PostgreSQL where a test server is configured; each run on a database of its own. Every server a
 * run starts must answer from that run's store (ChatifyServer.start checks), and each run says so
 * in a test of its own.
 */
/** What `GET /ready` answers as `store`: a test can check which store it really ran on. */
export type StoreName = StoreKind;

export function forEachStore(tests: (store: StoreName) => void): void {
  describe('on SQLite', () => {
    beforeAll(() => useStoreEnv({}, 'sqlite'));
    afterAll(() => useStoreEnv({}));
    answersFrom('sqlite');
    tests('sqlite');
  });
  describe.runIf(postgresConfigured())('on PostgreSQL', () => {
    let drop: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      const database = await createTestDatabase();
      drop = database.drop;
      useStoreEnv({ DATABASE_URL: database.url }, 'postgres');
    });
    afterAll(async () => {
      useStoreEnv({});
      await drop?.();
    });
    answersFrom('postgres');
    tests('postgres');
  });
  describe('on Firebase Realtime Database', () => {
    let server: FirebaseServer | undefined;
    beforeAll(async () => {
      server = await FirebaseServer.start();
      process.env['FIREBASE_DATABASE_EMULATOR_HOST'] = server.host;
      useStoreEnv({ FIREBASE_DATABASE_URL: server.databaseUrl(`chatify-${randomUUID().slice(0, 8)}`) }, 'firebase');
    });
    afterAll(() => {
      useStoreEnv({});
      server?.stop();
    });
    answersFrom('firebase');
    tests('firebase');
  });
}

/** The run's servers answer from its store (what /ready reports as `store`). */
function answersFrom(kind: StoreKind): void {
  it(`answers from ${kind}`, async () => {
    const store = await openStore(ChatifyServer.config());
    try {
      expect(store.kind).toBe(kind);
      await store.ping();
    } finally {
      await store.close();
    }
  });
}
