import type { Store } from '../chat/store.js';
import type { ConnectionStore } from '../people/connection-store.js';
import type { MemoryStore } from '../chat/memory-store.js';
import type { FirebaseOptions } from './firebase/firebase-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

/** What every store keeps: the chat with personalities and the chat between people. */
export type ChatifyStore = Store & ConnectionStore & { readonly memories: MemoryStore };

export interface StoreConfig {
  databaseUrl: string;
  firebase: { serviceAccount: FirebaseOptions['serviceAccount']; timeoutMs: number };
  sqliteSynchronous: 'FULL' | 'NORMAL';
  pool: { max: number; idleTimeoutMs: number; connectionTimeoutMs: number };
}

/**
 * Opens the store DATABASE_URL names: `sqlite:<path>`, `postgres://…` (schema migrations run first),
 * or `firebase:<database URL>` (what FIREBASE_DATABASE_URL becomes). The PostgreSQL and Firebase
 * drivers are loaded only when used: each costs tens of MB of memory.
 */
export async function openStore(config: StoreConfig): Promise<ChatifyStore> {
  const url = config.databaseUrl;
  if (url.startsWith('sqlite:')) {
    return new SqliteStore({ path: url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''), synchronous: config.sqliteSynchronous });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open({
      connectionString: url,
      poolMax: config.pool.max,
      idleTimeoutMs: config.pool.idleTimeoutMs,
      connectionTimeoutMs: config.pool.connectionTimeoutMs,
    });
  }
  if (url.startsWith('firebase:')) {
    const { FirebaseStore } = await import('./firebase/firebase-store.js');
    return FirebaseStore.open({
      databaseUrl: url.slice('firebase:'.length),
      serviceAccount: config.firebase.serviceAccount,
      timeoutMs: config.firebase.timeoutMs,
    });
  }
  // Never quoted: the URL may carry a password.
  throw new Error(
    'DATABASE_URL is not understood; use sqlite:<path>, postgres://user@host:port/database, or set FIREBASE_DATABASE_URL.',
  );
}
