import type { Store } from '../chat/store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export interface StoreConfig {
  databaseUrl: string;
  sqliteSynchronous: 'FULL' | 'NORMAL';
}

/** Opens the store DATABASE_URL names: `sqlite:<path>` (or a bare path). */
export function openStore(config: StoreConfig): Store {
  const url = config.databaseUrl;
  if (url.startsWith('sqlite:')) {
    return new SqliteStore({ path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''), synchronous: config.sqliteSynchronous });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new Error('DATABASE_URL names PostgreSQL, which this version does not support yet; use sqlite:<path>.');
  }
  throw new Error(`DATABASE_URL "${url}" is not understood; use sqlite:<path>.`);
}
