import { afterAll, beforeAll, describe } from 'vitest';
import { useStoreEnv } from './chatify-server.js';
import { createTestDatabase, postgresConfigured } from './postgres.js';

/**
 * Runs the same HTTP-level tests once per store: SQLite, and PostgreSQL where a test server is
 * configured (each run on a database of its own).
 */
export function forEachStore(tests: () => void): void {
  describe('on SQLite', tests);
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
    tests();
  });
}
