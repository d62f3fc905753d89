import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../src/redact-secrets.js';
import { tempDir } from './support/chatify-server.js';

const SECRET = 'S3cretPassw0rd-do-not-print';

/**
 * Starts the server with `env` and returns all it printed (stdout and stderr) and how it exited:
 * either on its own (a refused configuration) or, once it is ready, when it is stopped.
 */
async function startUp(env: Record<string, string>): Promise<{ output: string; exitCode: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.includes('Chatify is ready')) child.kill('SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { output, exitCode };
}

// Each case starts a server process of its own (through tsx): slow on a busy machine.
describe('start-up never prints a secret', { timeout: 60_000 }, () => {
  it('refuses an unrecognised DATABASE_URL without quoting it', async () => {
    const { output, exitCode } = await startUp({ DATABASE_URL: `mysql://chatify:${SECRET}@db.internal/chat` });
    expect(exitCode).toBe(1);
    expect(output).toContain('DATABASE_URL is not understood');
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain('db.internal');
  });

  it.each([
    ['cannot be reached', `postgres://chatify:${SECRET}@127.0.0.1:1/chat`],
    ['is malformed', `postgresql://chatify:${SECRET}@127.0.0.1:99999/chat`],
  ])('says nothing of the password when PostgreSQL %s', async (_case, url) => {
    const { output, exitCode } = await startUp({ DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: '1000' });
    expect(exitCode).toBe(1);
    expect(output.trim()).not.toBe('');
    expect(output).not.toContain(SECRET);
  });

  it('refuses a malformed REDIS_URL without quoting it', async () => {
    // The Redis client's URL parser warns about a port that is no number by printing the whole URL.
    const { output, exitCode } = await startUp({
      DATABASE_URL: `sqlite:${tempDir()}/chatify.db`,
      REDIS_URL: `redis://:${SECRET}@cache.internal:notaport`,
    });
    expect(exitCode).toBe(1);
    expect(output).toContain('REDIS_URL is not a valid URL');
    expect(output).not.toContain(SECRET);
  });

  it('warns about an unused OPENAI_BASE_URL without its credentials', async () => {
    const { output } = await startUp({
      DATABASE_URL: `sqlite:${tempDir()}/chatify.db`,
      OPENAI_BASE_URL: `https://chatify:${SECRET}@models.example.com/v1`,
    });
    expect(output).toContain('Chatify is ready');
    expect(output).toContain('OPENAI_BASE_URL is set but unused: set LLM_PROVIDER=openai to send replies to https://models.example.com/v1');
    expect(output).not.toContain(SECRET);
  });

  it('redacts the values of secret variables and passwords in URLs from start-up errors', () => {
    const env = { JWT_SECRET: 'a-jwt-secret-of-some-length', API_KEYS: 'key-one-123,key-two-456', PORT: '8000' };
    const message = 'failed with a-jwt-secret-of-some-length, key-two-456 at redis://:hunter2@cache:6379 on 8000';
    expect(redactSecrets(message, env)).toBe('failed with [redacted], [redacted] at redis://:[redacted]@cache:6379 on 8000');
  });
});
