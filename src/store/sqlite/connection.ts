import Database from 'better-sqlite3';

export type Synchronous = 'FULL' | 'NORMAL';

/** Opens the database file in WAL mode: one writer and any number of readers at once. */
export function openConnection(path: string, synchronous: Synchronous): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}
