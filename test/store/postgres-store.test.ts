import { describe } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createTestDatabase, postgresConfigured } from '../support/postgres.js';
import { connectionContract } from './connection-contract.js';
import { storeContract } from './store-contract.js';
import { treeContract } from './tree-contract.js';
import { memoryContract } from './memory-contract.js';

/** Opens stores on a database of its own, created on first use and dropped by dispose. */
function onNewDatabase() {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  return {
    open: async () => {
      database ??= await createTestDatabase();
      return PostgresStore.open({ connectionString: database.url, poolMax: 10, idleTimeoutMs: 10_000, connectionTimeoutMs: 5000 });
    },
    dispose: async () => database?.drop(),
  };
}

describe.runIf(postgresConfigured())('PostgreSQL', () => {
  storeContract('PostgreSQL', onNewDatabase());
  connectionContract('PostgreSQL', onNewDatabase());
  treeContract('PostgreSQL', onNewDatabase());
  memoryContract('PostgreSQL', 'postgres', onNewDatabase());
});
