import { describe } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase, postgresConfigured } from '../support/postgres.js';
import { storeContract } from './store-contract.js';

describe.runIf(postgresConfigured())('PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  storeContract('PostgreSQL', {
    open: async () => {
      database ??= await createTestDatabase();
      return PostgresStore.open({ connectionString: database.url, poolMax: 10, idleTimeoutMs: 10_000, connectionTimeoutMs: 5000 });
    },
    dispose: async () => database?.drop(),
  });
});
