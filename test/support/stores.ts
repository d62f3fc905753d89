import { afterAll, beforeAll, describe } from 'vitest';
import { randomUUID } from 'node:crypto';
import { useStoreEnv } from './chatify-server.js';
import { FirebaseServer } from './firebase.js';
import { createTestDatabase, postgresConfigured } from './postgres.js';

/** What `GET /ready` answers as `store`: a test can check which store it really ran on. */
export type StoreName = 'sqlite' | 'postgres' | 'firebase';

/**
 * Runs the same HTTP-level tests once per store: SQLite, Firebase (firebase-server), and
 * PostgreSQL where a test server is configured; each run on a database of its own.
 */
export function forEachStore(tests: (store: StoreName) => void): void {
  describe('on SQLite', () => tests('sqlite'));
  describe.runIf(postgresConfigured())('on PostgreSQL', () => {
    let drop: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      const database = await createTestDatabase();
      drop = database.drop;
      useStoreEnv({ DATABASE_URL: database.url });
    });
    afterAll(async () => {
      useStoreEnv({});
      await drop?.();
    });
    tests('postgres');
  });
  describe('on Firebase Realtime Database', () => {
    let server: FirebaseServer | undefined;
    beforeAll(async () => {
      server = await FirebaseServer.start();
      process.env['FIREBASE_DATABASE_EMULATOR_HOST'] = server.host;
      // DATABASE_URL (a SQLite file by default in tests) would win over FIREBASE_DATABASE_URL: blank it.
      useStoreEnv({ DATABASE_URL: '', FIREBASE_DATABASE_URL: server.databaseUrl(`chatify-${randomUUID().slice(0, 8)}`) });
    });
    afterAll(() => {
      useStoreEnv({});
      server?.stop();
    });
    tests('firebase');
  });
}
