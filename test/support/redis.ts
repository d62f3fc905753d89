import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './server-process.js';

/** The Redis server tests may use (set by .ci/run), or undefined. */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'];

/** True when Redis tests can run; in CI a missing server is an error, not a skip. */
export function redisConfigured(): boolean {
  if (TEST_REDIS_URL) return true;
  if (process.env['CI']) throw new Error('TEST_REDIS_URL is not set: .ci/run sets it for the Redis tests.');
  console.warn('\n*** SKIPPING Redis tests: TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379) ***\n');
  return false;
}

/** A Redis server of the test's own (redis-server on a free port), which the test may stop and restart. */
export class OwnRedis {
  #child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.up();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const { Redis } = await import('ioredis');
    for (let i = 0; i < 100; i++) {
      const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        client.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error('redis-server did not start');
  }

  async down(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}
