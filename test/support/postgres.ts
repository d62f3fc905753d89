import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server tests may use (set by .ci/run), or undefined. */
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'];

/** True when PostgreSQL tests can run; in CI a missing server is an error, not a skip. */
export function postgresConfigured(): boolean {
  if (TEST_DATABASE_URL) return true;
  if (process.env['CI']) throw new Error('TEST_DATABASE_URL is not set: .ci/run sets it for the PostgreSQL tests.');
  console.warn('\n*** SKIPPING PostgreSQL tests: TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test) ***\n');
  return false;
}

/** A new, empty database for one test file, and how to drop it afterwards. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `chatify_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
