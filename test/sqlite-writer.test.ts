import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Session } from '../src/chat/types.js';
import { tempDir } from './support/chatify-server.js';

const session = (id: string): Session => ({
  id,
  userId: 'u',
  templateId: 't',
  systemPrompt: 'p',
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  lastActivity: '2026-01-01T00:00:00.000Z',
  endedAt: null,
  messageCount: 0,
  activeSeq: null,
  usage: { promptTokens: 0, completionTokens: 0 },
  memoryTokens: 0,
    title: null,
    summary: null,
});
const message = (content: string) => ({ role: 'user' as const, content, tokens: 1, createdAt: '2026-01-01T00:00:01.000Z' });

describe.each(['file', ':memory:'])('SQLite group commit (%s)', (where) => {
  const open = () => new SqliteStore({ path: where === 'file' ? join(tempDir(), 'w.db') : ':memory:', synchronous: 'FULL' });

  it('commits many concurrent writes, each exactly once and in order', async () => {
    const store = open();
    await store.createSession(session('s1'));
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => store.appendExchange('s1', [message(`m${i}`)], '2026-01-01T00:00:02.000Z')),
    );
    expect(results.map((r) => r!.messages[0]!.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(results.at(-1)!.messageCount).toBe(300);
    const stored = await store.readMessages('s1', { limit: 1000 });
    expect(stored.map((m) => m.content)).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    await store.close();
  });

  it('keeps the order of writes made in many turns while earlier batches are still committing', async () => {
    const store = open();
    await store.createSession(session('s2'));
    const writes: Promise<unknown>[] = [];
    for (let turn = 0; turn < 50; turn++) {
      for (let i = 0; i < 4; i++) writes.push(store.appendExchange('s2', [message(`t${turn}-${i}`)], '2026-01-01T00:00:02.000Z'));
      await new Promise((resolve) => setImmediate(resolve)); // the next batch is handed over before this one is on disk
    }
    const results = (await Promise.all(writes)) as { messages: { seq: number }[] }[];
    expect(results.map((r) => r.messages[0]!.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const stored = await store.readMessages('s2', { limit: 1000 });
    expect(stored.map((m) => m.content)).toEqual(Array.from({ length: 200 }, (_, i) => `t${Math.floor(i / 4)}-${i % 4}`));
    await store.close();
  });

  it('fails one bad write alone, keeping the others of its batch', async () => {
    const store = open();
    const outcomes = await Promise.allSettled([
      store.createSession(session('a')),
      store.createSession(session('a')), // duplicate id: violates the unique key
      store.createSession(session('b')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.getSession('a')).not.toBeNull();
    expect(await store.getSession('b')).not.toBeNull();
    expect(await store.appendExchange('missing', [message('x')], 'now')).toBeNull();
    await store.close();
  });

  it('commits writes still queued when it closes', async () => {
    if (where !== 'file') return;
    const path = join(tempDir(), 'close.db');
    const store = new SqliteStore({ path, synchronous: 'FULL' });
    void store.createSession(session('late'));
    await store.close();
    const reopened = new SqliteStore({ path, synchronous: 'FULL' });
    expect(await reopened.getSession('late')).toMatchObject({ id: 'late' });
    await reopened.close();
  });
});
