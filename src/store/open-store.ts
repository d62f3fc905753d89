import type { Store } from '../chat/store.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export interface StoreConfig {
  databaseUrl: string;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  pool: { max: number; idleTimeoutMs: number; connectionTimeoutMs: number };
}

/** Opens the store DATABASE_URL names: `sqlite:<path>` or `postgres://…`; schema migrations run first. */
export async function openStore(config: StoreConfig): Promise<Store> {
  const url = config.databaseUrl;
  if (url.startsWith('sqlite:')) {
    return new SqliteStore({ path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''), synchronous: config.sqliteSynchronous });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    return PostgresStore.open({
      connectionString: url,
      poolMax: config.pool.max,
      idleTimeoutMs: config.pool.idleTimeoutMs,
      connectionTimeoutMs: config.pool.connectionTimeoutMs,
    });
  }
  throw new Error(`DATABASE_URL "${url}" is not understood; use sqlite:<path> or postgres://user@host:port/database.`);
}
