import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';
import { forEachStore } from './support/stores.js';

const SESSIONS = '/api/v1/chatbot/sessions';
const sessionPath = (id: string) => `/api/v1/chatbot/session/${id}`;

forEachStore((storeName) => describe('session titles and search', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    expect(server.chatify.store.kind).toBe(storeName);
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });
  beforeEach(() => {
    model.titleRequests.length = 0;
    model.failTitles = undefined;
    model.titleReply = () => '"Trip To Lisbon."\n';
  });

  /** Every title job started so far has finished. */
  const housekeepingDone = () => server.chatify.housekeeping.idle();

  it('names a session after its first exchange, off the reply, and never again', async () => {
    const id = await server.createSession('titled_user');
    expect((await server.get(sessionPath(id))).body.title).toBeNull();
    const first = await server.send(id, 'Help me plan three days in Lisbon');
    expect(first.status).toBe(200);
    await housekeepingDone();
    expect(model.titleRequests).toHaveLength(1);
    expect(model.titleRequests[0]!.messages.at(-1)!.content).toContain('Help me plan three days in Lisbon');
    expect((await server.get(sessionPath(id))).body.title).toBe('Trip To Lisbon');
    const list = await server.get(`${SESSIONS}?user_id=titled_user`);
    expect(list.body.sessions.find((s: { session_id: string }) => s.session_id === id).title).toBe('Trip To Lisbon');

    await server.send(id, 'And a fourth day?');
    await housekeepingDone();
    expect(model.titleRequests).toHaveLength(1);
  });

  it('answers the reply when the title call fails, and leaves the title null', async () => {
    model.failTitles = 503;
    const id = await server.createSession('untitled_user');
    const reply = await server.send(id, 'Hello there');
    expect(reply.status).toBe(200);
    expect(reply.body.response).toBe('Reply to: Hello there');
    await housekeepingDone();
    // Tried, retried, given up.
    expect(model.titleRequests).toHaveLength(3);
    const session = await server.get(sessionPath(id));
    expect(session.body).toMatchObject({ title: null, message_count: 1 });
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/chatify_housekeeping_job_seconds_count\{kind="title",outcome="failed"\} [1-9]/);
  });

  it('renames a session (ended too), and a rename is never overwritten by a generated title', async () => {
    const id = await server.createSession('renaming_user');
    const renamed = await server.request('PATCH', sessionPath(id), { title: '  My own name for it  ' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ success: true, session_id: id, title: 'My own name for it', conversation_history: [] });
    await server.send(id, 'First words here');
    await housekeepingDone();
    expect((await server.get(sessionPath(id))).body.title).toBe('My own name for it');

    await server.del(sessionPath(id));
    const afterEnd = await server.request('PATCH', sessionPath(id), { title: 'Archived: Lisbon' });
    expect(afterEnd.status).toBe(200);
    expect(afterEnd.body).toMatchObject({ status: 'ended', title: 'Archived: Lisbon', message_count: 1 });
    expect(afterEnd.body.conversation_history.map((m: { content: string }) => m.content)).toEqual([
      'First words here',
      'Reply to: First words here',
    ]);
  });

  it('refuses a blank, multi-line or too long title, and an unknown session, changing nothing', async () => {
    const id = await server.createSession('renaming_user');
    for (const title of ['', '   ', '\u200b', 'two\nlines', 'x'.repeat(201)]) {
      const refused = await server.request('PATCH', sessionPath(id), { title });
      expect(refused.status, JSON.stringify(title)).toBe(422);
      expect(refused.body.success).toBe(false);
    }
    expect((await server.get(sessionPath(id))).body.title).toBeNull();
    expect((await server.request('PATCH', sessionPath(id), { title: 'x'.repeat(200) })).status).toBe(200);
    const unknown = await server.request('PATCH', sessionPath('00000000-0000-4000-8000-000000000000'), { title: 'Hi' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('session_not_found');
  });

  it("finds a word from the middle of a conversation (Firebase: titles only), paged, never another user's session", async () => {
    model.titleReply = (request) => (request.messages.at(-1)!.content.includes('lighthouse') ? 'Lighthouse stories' : 'Small talk');
    const user = `searcher_${storeName}`;
    const talk = async (owner: string, texts: string[]) => {
      const id = await server.createSession(owner);
      for (const text of texts) expect((await server.send(id, text)).status).toBe(200);
      return id;
    };
    const middle = await talk(user, ['Good morning', 'Yesterday I saw an old Lighthouse by the sea', 'Anyway, what is for lunch?']);
    const titled = await talk(user, ['Tell me lighthouse stories']);
    await talk(user, ['Nothing to see here']);
    const newest = await talk(user, ['Good evening', 'Is the lighthouse keeper still there?']);
    const others = await talk(`${user}_other`, ['A lighthouse for me too', 'lighthouse again']);
    await housekeepingDone();

    const search = (query: string) => server.get(`${SESSIONS}?user_id=${user}&q=${encodeURIComponent(query)}`);
    const found = await search('LIGHTHOUSE');
    expect(found.status).toBe(200);
    const ids = found.body.sessions.map((s: { session_id: string }) => s.session_id);
    expect(ids).not.toContain(others);
    expect(found.body.sessions.every((s: { user_id: string }) => s.user_id === user)).toBe(true);
    if (storeName === 'firebase') {
      // Titles only: the word in the middle of a conversation is not searched.
      expect(ids).toEqual([titled]);
    } else {
      expect(ids).toEqual([newest, titled, middle]);
      const words = await search('old sea');
      expect(words.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([middle]);
      const first = await server.get(`${SESSIONS}?user_id=${user}&q=lighthouse&limit=2`);
      expect(first.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([newest, titled]);
      const second = await server.get(`${SESSIONS}?user_id=${user}&q=lighthouse&limit=2&cursor=${first.body.next_cursor}`);
      expect(second.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([middle]);
      expect(second.body.next_cursor).toBeNull();
    }
    expect((await search('stories')).body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([titled]);
    expect((await search('nowhere-to-be-found')).body.sessions).toEqual([]);
    // Blank is no search at all; a query without a word is refused.
    expect((await search('  ')).body.sessions).toHaveLength(4);
    const refused = await search('?!');
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('invalid_query');
    expect((await search('x'.repeat(201))).status).toBe(422);
  });
}));

forEachStore((storeName) => describe('titles without a model (offline responder)', () => {
  let server: ChatifyServer;
  beforeAll(async () => {
    server = await ChatifyServer.start({ LLM_PROVIDER: 'offline' });
    expect(server.chatify.store.kind).toBe(storeName);
  });
  afterAll(() => server.close());

  it('titles a session with the first words of its first message', async () => {
    const id = await server.createSession('offline_user');
    await server.send(id, 'Could you please help me write a short poem about autumn leaves?');
    await server.chatify.housekeeping.idle();
    expect((await server.get(sessionPath(id))).body.title).toBe('Could you please help me write a short');
  });
}));

describe('titles beside a failing model', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { LLM_BREAKER_FAILURES: '2' }));
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('never open the circuit for replies, however often title calls fail', async () => {
    model.failTitles = 503;
    for (const user of ['breaker_a', 'breaker_b', 'breaker_c']) {
      const id = await server.createSession(user);
      const reply = await server.send(id, `Hello from ${user}`);
      expect([user, reply.status]).toEqual([user, 200]);
      await server.chatify.housekeeping.idle();
    }
    // Nine failed title calls against a circuit that opens after two failed calls.
    expect(model.titleRequests).toHaveLength(9);
  });
});

describe('search on a new SQLite database where titles come before messages', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    expect(server.chatify.store.kind).toBe('sqlite');
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('keeps finding a message after later renames', async () => {
    const [first, second, third] = [await server.createSession('zebra_user'), await server.createSession('zebra_user'), await server.createSession('zebra_user')];
    expect((await server.request('PATCH', sessionPath(third), { title: 'Named before anything was said' })).status).toBe(200);
    expect((await server.send(first, 'a zebra crossed the road')).status).toBe(200);
    await server.chatify.housekeeping.idle();
    expect((await server.request('PATCH', sessionPath(second), { title: 'Named after' })).status).toBe(200);
    const found = await server.get(`${SESSIONS}?user_id=zebra_user&q=zebra`);
    expect(found.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([first]);
  });
});
