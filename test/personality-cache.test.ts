import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { openStore, type ChatifyStore } from '../src/store/open-store.js';
import { ChatifyServer, tempDir } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { createTestDatabase, postgresConfigured } from './support/postgres.js';
import { OwnRedis, redisConfigured } from './support/redis.js';

type Method = keyof ChatifyStore & string;

/**
 * A store whose next call of a chosen method, once it has read, waits until the test lets it answer:
 * so a write can land between a cache fill's read and its return, every time.
 */
function withHeldRead(store: ChatifyStore) {
  const holds = new Map<string, { reached: () => void; released: Promise<void> }>();
  const held = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        const hold = typeof property === 'string' ? holds.get(property) : undefined;
        if (!hold) return result;
        holds.delete(property as string);
        return Promise.resolve(result).then(async (answer) => {
          hold.reached();
          await hold.released;
          return answer;
        });
      };
    },
  });
  /** Holds the next call of `method`: `reached` once it has read, answering only after `release()`. */
  const holdNext = (method: Method) => {
    let reached!: () => void;
    let release!: () => void;
    const hold = { reached: new Promise<void>((resolve) => (reached = resolve)), release: () => release() };
    holds.set(method, { reached, released: new Promise<void>((resolve) => (release = resolve)) });
    return hold;
  };
  return { store: held, holdNext };
}

describe('personality and rules caches when a change lands during a read', () => {
  let model: FakeOpenAi;
  let store: ChatifyStore;
  let server: ChatifyServer;
  let holdNext: ReturnType<typeof withHeldRead>['holdNext'];

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    const databasePath = join(tempDir(), 'chatify.db');
    store = await openStore(loadConfig({ DATABASE_URL: `sqlite:${databasePath}` }));
    const wrapped = withHeldRead(store);
    holdNext = wrapped.holdNext;
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url), { databasePath, deps: { store: wrapped.store } });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
    await model?.close();
  });

  const systemPromptOfLastCall = () => model.requests.at(-1)!.messages[0]!.content;

  it('does not keep the older personality a slow read returned after an update', async () => {
    expect((await server.post('/api/v1/personalities', { name: 'Race Owl', personalityPrompt: 'Old owl prompt.' })).status).toBe(201);

    // Starting a session fills the cache: its read of the personality is held after it read the old prompt.
    const hold = holdNext('getPersonality');
    const creating = server.createSession('user_race', 'race-owl');
    await hold.reached;
    const put = await server.put('/api/v1/personalities/race-owl', { personalityPrompt: 'New owl prompt.' });
    expect(put.status).toBe(200);
    hold.release();
    const id = await creating;

    expect((await server.send(id, 'hello')).status).toBe(200);
    expect(systemPromptOfLastCall()).toBe('New owl prompt.');
  });

  it('does not keep the older rules a slow read returned after an update', async () => {
    const id = await server.createSession('user_race_rules', 'race-owl');
    // A change drops the cached rules, so the next reader fills it again: that read is held.
    expect((await server.put('/api/v1/settings/universal-rules', { rules: 'Interim rule.', enabled: true })).status).toBe(200);
    const hold = holdNext('getUniversalRules');
    const reading = server.get('/api/v1/settings/universal-rules');
    await hold.reached;
    const put = await server.put('/api/v1/settings/universal-rules', { rules: 'Race rule.', enabled: true });
    expect(put.status).toBe(200);
    hold.release();
    expect((await reading).body.rules).toBe('Interim rule.');

    expect((await server.send(id, 'hello')).status).toBe(200);
    expect(systemPromptOfLastCall()).toBe('Race rule.\n\nNew owl prompt.');
    expect((await server.get('/api/v1/settings/universal-rules')).body.rules).toBe('Race rule.');
  });
});

describe.runIf(postgresConfigured() && redisConfigured())('personality and rules caches across a Redis outage', () => {
  let model: FakeOpenAi;
  let redis: OwnRedis;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: ChatifyServer;
  let b: ChatifyServer;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    redis = await OwnRedis.start();
    database = await createTestDatabase();
    const env = ChatifyServer.modelEnv(model.url, { DATABASE_URL: database.url, REDIS_URL: redis.url });
    // One after the other: the second finds the schema migrated and the personalities seeded.
    a = await ChatifyServer.start(env);
    b = await ChatifyServer.start(env);
  }, 60_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.down();
    await model?.close();
    await database?.drop();
  });

  /** Sends until the instance answers 200 again (its Redis clients reconnect by themselves), for at most 10 s. */
  async function sendUntilAnswered(server: ChatifyServer, id: string, message: string) {
    let res = await server.send(id, message);
    for (let i = 0; i < 100 && res.status !== 200; i++) {
      expect(res.body.error.code).toBe('coordination_unavailable');
      await new Promise((resolve) => setTimeout(resolve, 100));
      res = await server.send(id, message);
    }
    return res;
  }

  it('serves the prompt changed while its subscriber was disconnected once Redis is back', async () => {
    for (const server of [a, b]) {
      expect((await server.get('/ready')).body).toMatchObject({ store: 'postgres', coordination: 'redis' });
    }
    expect((await a.post('/api/v1/personalities', { name: 'Outage Owl', personalityPrompt: 'Old owl prompt.' })).status).toBe(201);
    const id = await b.createSession('user_outage_cache', 'outage-owl');
    expect((await b.send(id, 'before')).status).toBe(200); // b has composed and cached the prompt
    expect(model.requests.at(-1)!.messages[0]!.content).toBe('Old owl prompt.');

    await redis.down();
    // The news of these changes is published into the void: nobody hears it.
    expect((await a.put('/api/v1/personalities/outage-owl', { personalityPrompt: 'New owl prompt.' })).status).toBe(200);
    expect((await a.put('/api/v1/settings/universal-rules', { rules: 'Outage rule.', enabled: true })).status).toBe(200);
    await redis.up();

    // The first reply b gives once it can serve again is composed from the new state.
    const res = await sendUntilAnswered(b, id, 'after');
    expect(res.status).toBe(200);
    expect(model.requests.at(-1)!.messages[0]!.content).toBe('Outage rule.\n\nNew owl prompt.');
    expect((await b.get('/api/v1/settings/universal-rules')).body.rules).toBe('Outage rule.');
  });
});
