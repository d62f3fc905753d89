import { randomUUID } from 'node:crypto';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getDatabase } from 'firebase-admin/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirebaseStore } from '../../src/store/firebase/firebase-store.js';
import { FirebaseServer } from '../support/firebase.js';
import { connectionContract } from './connection-contract.js';
import { newSession, personality, storeContract } from './store-contract.js';
import type { NewMessage } from '../../src/chat/types.js';

let server: FirebaseServer;
const namespace = `chatify-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  server = await FirebaseServer.start();
  process.env['FIREBASE_DATABASE_EMULATOR_HOST'] = server.host;
});
afterAll(() => server?.stop());

storeContract('Firebase Realtime Database', {
  open: async () => FirebaseStore.open({ databaseUrl: server.databaseUrl(namespace), timeoutMs: 5000 }),
});

connectionContract('Firebase Realtime Database', {
  open: async () => FirebaseStore.open({ databaseUrl: server.databaseUrl(`${namespace}-connections`), timeoutMs: 5000 }),
});

describe('Firebase layout', () => {
  it("keeps the seed's layout: templates/{id}, userSessions/{id} with its fields, one child per message", async () => {
    const databaseUrl = server.databaseUrl(`layout-${randomUUID().slice(0, 8)}`);
    const store = FirebaseStore.open({ databaseUrl, timeoutMs: 5000 });
    const session = newSession('user.with.dots@example.com');
    await store.createSession(session);
    await store.insertPersonality(personality('friendly-assistant'));
    await store.appendExchange(session.id, [
      { role: 'user', content: 'Hi', tokens: 1, createdAt: '2026-01-01T00:00:01.000Z' },
      { role: 'assistant', content: "Hey! What's up?", tokens: 4, createdAt: '2026-01-01T00:00:02.000Z' },
    ], '2026-01-01T00:00:02.000Z');

    const app = initializeApp({ databaseURL: databaseUrl }, `raw-${randomUUID()}`);
    const raw = getDatabase(app);
    const read = async (path: string) => (await raw.ref(path).once('value')).val();
    expect(await read(`userSessions/${session.id}/user_id`)).toBe('user.with.dots@example.com');
    expect(await read(`userSessions/${session.id}/template_id`)).toBe('friendly-assistant');
    expect(await read(`userSessions/${session.id}/status`)).toBe('active');
    expect(await read(`userSessions/${session.id}/message_count`)).toBe(1);
    expect(await read(`userSessions/${session.id}/conversation_history`)).toEqual({
      '0000000001': { role: 'user', content: 'Hi', tokens: 1, timestamp: '2026-01-01T00:00:01.000Z' },
      '0000000002': { role: 'assistant', content: "Hey! What's up?", tokens: 4, timestamp: '2026-01-01T00:00:02.000Z' },
    });
    expect(await read('templates/friendly-assistant/personalityPrompt')).toBe('You are friendly-assistant.');
    expect((await store.listSessions('user.with.dots@example.com', { limit: 5 })).items.map((s) => s.id)).toEqual([session.id]);
    await deleteApp(app);
    await store.close();
  });
});

describe('Firebase idempotency keys', () => {
  const exchange = (content: string, key: string, tokens = 3): NewMessage[] => [
    { role: 'user', content, tokens, createdAt: '2026-01-01T00:00:01.000Z', idempotencyKey: key },
    { role: 'assistant', content: `Reply to: ${content}`, tokens: 4, createdAt: '2026-01-01T00:00:02.000Z' },
  ];

  it('gives a key back when the write of its append fails, so a retry with it is stored', async () => {
    const store = FirebaseStore.open({ databaseUrl: server.databaseUrl(`keys-${randomUUID().slice(0, 8)}`), timeoutMs: 5000 });
    try {
      const session = newSession();
      await store.createSession(session);
      // A value the database refuses: the write fails after the key was reserved and the count taken.
      await expect(store.appendExchange(session.id, exchange('hello', 'key-1', Number.NaN), '2026-01-01T00:00:02.000Z')).rejects.toThrow();
      expect(await store.findExchange(session.id, 'key-1')).toBeNull();
      const retried = await store.appendExchange(session.id, exchange('hello', 'key-1'), '2026-01-01T00:00:02.000Z');
      expect(retried?.messages.map((m) => m.content)).toEqual(['hello', 'Reply to: hello']);
      expect((await store.findExchange(session.id, 'key-1'))?.messages.map((m) => m.content)).toEqual(['hello', 'Reply to: hello']);
    } finally {
      await store.close();
    }
  });
});

