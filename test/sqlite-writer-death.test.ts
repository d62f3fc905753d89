import { once } from 'node:events';
import { mkdirSync, renameSync, rmdirSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { FIRST_RESTART_DELAY_MS, type ThreadWriter } from '../src/store/sqlite/thread-writer.js';
import type { WriterReply, WriterRequest } from '../src/store/sqlite/writer-thread.js';
import { ChatifyServer } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';

/** The SQLite writer thread's keeper, which the test asserts is what answers. */
function writerOf(server: ChatifyServer): ThreadWriter {
  expect(server.chatify.store).toBeInstanceOf(SqliteStore);
  return (server.chatify.store as SqliteStore).writerThread!;
}

/** The next batch handed to the thread never reaches it: the thread is ended instead. */
function killOnNextBatch(thread: Worker): void {
  const post = thread.postMessage.bind(thread);
  thread.postMessage = (message: WriterRequest) => (message.type === 'batch' ? void thread.terminate() : post(message));
}

/** The thread commits the next batch, but is ended before its answer gets through. */
function killAfterNextCommit(thread: Worker): void {
  const emit = thread.emit.bind(thread);
  thread.emit = ((event: string, ...args: unknown[]) => {
    if (event !== 'message' || (args[0] as WriterReply).type !== 'committed') return emit(event, ...args);
    void thread.terminate();
    return true;
  }) as Worker['emit'];
}

/** A new writer thread cannot open the database file until the returned function puts it back. */
function makeDatabaseUnopenable(path: string): () => void {
  renameSync(path, `${path}.aside`);
  mkdirSync(path);
  return () => {
    rmdirSync(path);
    renameSync(`${path}.aside`, path);
  };
}

/** The next `count` 'down' events: when each came, and how long the writer waits before restarting. */
function nextDowns(writer: ThreadWriter, count: number): Promise<{ at: number; restartInMs: number }[]> {
  const downs: { at: number; restartInMs: number }[] = [];
  return new Promise((resolve) => {
    const onDown = ({ restartInMs }: { restartInMs: number }) => {
      downs.push({ at: Date.now(), restartInMs });
      if (downs.length < count) return;
      writer.events.off('down', onDown);
      resolve(downs);
    };
    writer.events.on('down', onDown);
  });
}

// Every test starts several writer threads, each a few seconds on a busy machine.
describe('the SQLite writer thread dies', { timeout: 90_000 }, () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let restore: (() => void) | undefined;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
  });
  afterAll(() => model.close());
  afterEach(async () => {
    restore?.();
    restore = undefined;
    await server?.close();
  });
  const start = async () => (server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url)));
  const send = (id: string, message: string, key?: string) =>
    server.request('POST', `/api/v1/chatbot/session/${id}/message`, { message }, key ? { 'idempotency-key': key } : {});
  const history = async (id: string) =>
    ((await server.get(`/api/v1/chatbot/session/${id}`)).body.conversation_history as { content: string }[]).map((m) => m.content);

  it('answers 503 to the write in flight and to later ones, keeps /ready at 503 and backs off while it cannot come back, then writes again', async () => {
    await start();
    const writer = writerOf(server);
    const id = await server.createSession('u_writer_dies');
    expect((await send(id, 'kept')).status).toBe(200);
    // The session's title is written off the reply's path: it must not be the batch the test kills.
    await server.chatify.housekeeping.idle();

    restore = makeDatabaseUnopenable(server.databasePath);
    const downs = nextDowns(writer, 3);
    killOnNextBatch(writer.thread!);
    const inFlight = await send(id, 'in flight');
    expect(inFlight.status).toBe(503);
    expect(inFlight.body.error.code).toBe('store_unavailable');
    const ready = await server.get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('store_unavailable');
    const later = await send(id, 'later');
    expect(later.status).toBe(503);
    expect(later.body.error.code).toBe('store_unavailable');

    // Each new thread dies at once: restarts wait twice as long each time instead of spinning.
    const [first, second, third] = await downs;
    expect([first, second, third].map((down) => down!.restartInMs)).toEqual([1, 2, 4].map((n) => n * FIRST_RESTART_DELAY_MS));
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(first!.restartInMs);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(second!.restartInMs);
    expect((await server.get('/ready')).status).toBe(503);

    const up = once(writer.events, 'up');
    restore();
    restore = undefined;
    await up;
    const readyAgain = await server.get('/ready');
    expect(readyAgain.status).toBe(200);
    expect(readyAgain.body.store).toBe('sqlite');
    const back = await send(id, 'back');
    expect(back.status).toBe(200);
    expect(back.body.message_count).toBe(2);
    expect(await history(id)).toEqual(['kept', 'Reply to: kept', 'back', 'Reply to: back']);
  });

  it('answers 503 to a write that committed as the thread died; a retry with its key replays it and the chat goes on', async () => {
    await start();
    const writer = writerOf(server);
    const id = await server.createSession('u_writer_dies_after_commit');
    expect((await send(id, 'first', 'key-1')).status).toBe(200);
    // The session's title is written off the reply's path: it must not be the commit the test loses.
    await server.chatify.housekeeping.idle();

    const up = once(writer.events, 'up');
    killAfterNextCommit(writer.thread!);
    const unacknowledged = await send(id, 'second', 'key-2');
    expect(unacknowledged.status).toBe(503);
    expect(unacknowledged.body.error.code).toBe('store_unavailable');

    const calls = model.requests.length;
    const retry = await send(id, 'second', 'key-2');
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body).toMatchObject({ response: 'Reply to: second', message_count: 2 });
    expect(model.requests.length).toBe(calls);

    await up;
    const third = await send(id, 'third', 'key-3');
    expect(third.status).toBe(200);
    expect(third.body.message_count).toBe(3);
    // The model saw the exchange that landed unacknowledged.
    expect(model.requests.at(-1)!.messages.map((m) => m.content)).toContain('Reply to: second');
    expect(await history(id)).toEqual(['first', 'Reply to: first', 'second', 'Reply to: second', 'third', 'Reply to: third']);
  });

  it('closes promptly while the thread is dead and cannot come back', async () => {
    await start();
    const writer = writerOf(server);
    const id = await server.createSession('u_writer_dead_at_close');
    restore = makeDatabaseUnopenable(server.databasePath);
    const down = once(writer.events, 'down');
    await writer.thread!.terminate();
    await down;
    expect((await send(id, 'nowhere to go')).status).toBe(503);

    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 5_000)));
    const closing = server.close().then(() => 'closed');
    expect(await Promise.race([closing, hung])).toBe('closed');
    clearTimeout(timer);
    expect(writer.thread).toBeNull();
  });
});
