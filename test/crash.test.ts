import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi, lastUserMessage, type RecordedRequest } from './support/fake-openai.js';
import { NO_RATE_LIMITS, tempDir } from './support/chatify-server.js';
import { ServerProcess } from './support/server-process.js';
import { readEvents } from './support/sse.js';

/**
 * Crash safety: simulated users talk to a real server process under load, the process is killed
 * with SIGKILL mid-run (no shutdown code runs), a new process opens the same SQLite file, and then
 * every reply a client received must be stored exactly once, right after its own question, and
 * every session must go on with its whole context.
 */

const USERS = 32;
/** Kill once this many replies were received and at least MIN_LOAD_MS have passed... */
const KILL_AFTER_REPLIES = 300;
const MIN_LOAD_MS = 1000;
/** ...or at the latest after this long. */
const MAX_LOAD_MS = 15_000;

interface Ack {
  text: string;
  reply: string;
  messageCount: number;
}

/** One simulated user: what it sent and what it was told. */
interface UserLog {
  user: string;
  streams: boolean;
  sessionId?: string;
  /** Every text it sent, in order (one at a time, each after the previous was answered). */
  sent: string[];
  /** The replies it received (200 JSON, or a complete `done` event). */
  acks: Ack[];
  /** Answers it should never have seen (not 200 while the server was alive). */
  unexpected: string[];
}

interface Stored {
  seq: number;
  role: string;
  content: string;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed };
}

/** The whole stored history of a session, oldest first, read page by page. */
async function readHistory(base: string, id: string): Promise<{ session: any; history: Stored[] }> {
  const first = await call(base, 'GET', `/api/v1/chatbot/session/${id}?limit=500`);
  if (first.status !== 200) throw new Error(`GET session ${id}: ${first.status} ${JSON.stringify(first.body)}`);
  let history: Stored[] = first.body.conversation_history;
  let before: number | null = first.body.next_before;
  while (before !== null) {
    const page = await call(base, 'GET', `/api/v1/chatbot/session/${id}?limit=500&before=${before}`);
    history = [...page.body.conversation_history, ...history];
    before = page.body.next_before;
  }
  return { session: first.body, history };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a server killed with SIGKILL under load', () => {
  let model: FakeOpenAi;
  let databasePath: string;
  let env: Record<string, string>;
  let first: ServerProcess | undefined;
  let second: ServerProcess | undefined;

  beforeAll(async () => {
    // 5-30 ms per answer, uneven, deterministic.
    model = await FakeOpenAi.start({ latencyMs: (i) => 5 + ((i * 7) % 26) });
    databasePath = join(tempDir(), 'crash.db');
    env = {
      DATABASE_URL: `sqlite:${databasePath}`,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: model.url,
      LLM_MAX_RETRIES: '0',
      LLM_TIMEOUT_MS: '10000',
      LOG_LEVEL: 'warn',
      // The whole conversation goes to the model, so the context can be compared exactly.
      CONTEXT_MAX_MESSAGES: '1000',
      CONTEXT_MAX_TOKENS: '1000000',
      ...NO_RATE_LIMITS,
    };
    first = await ServerProcess.start({ entry: 'source', env });
  }, 60_000);

  afterAll(async () => {
    await first?.stop('SIGKILL');
    await second?.stop();
    await model?.close();
  });

  it('keeps every reply a client received exactly once, and every session continues with its context', async () => {
    const server = first!;
    const logs: UserLog[] = Array.from({ length: USERS }, (_, i) => ({
      user: `crash_user_${i}`,
      // Every third user streams its replies, the others use the plain call.
      streams: i % 3 === 0,
      sent: [],
      acks: [],
      unexpected: [],
    }));
    let killed = false;
    let acked = 0;

    const sendPlain = async (log: UserLog, text: string): Promise<Ack | null> => {
      const res = await call(server.url, 'POST', `/api/v1/chatbot/session/${log.sessionId}/message`, { message: text });
      if (res.status !== 200) {
        log.unexpected.push(`${text}: ${res.status} ${JSON.stringify(res.body)}`);
        return null;
      }
      return { text, reply: res.body.response, messageCount: res.body.message_count };
    };
    const sendStreamed = async (log: UserLog, text: string): Promise<Ack | null> => {
      const res = await fetch(`${server.url}/api/v1/chatbot/session/${log.sessionId}/message?stream=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: text }),
      });
      if (res.status !== 200) {
        log.unexpected.push(`${text}: stream ${res.status} ${await res.text()}`);
        return null;
      }
      const events = await readEvents(res);
      const done = events.find((e) => e.event === 'done');
      if (!done) {
        // The connection may end without `done` only because the server died.
        if (!killed || events.some((e) => e.event === 'error')) log.unexpected.push(`${text}: stream ended with ${JSON.stringify(events.at(-1))}`);
        return null;
      }
      const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
      if (deltas !== done.data.response) log.unexpected.push(`${text}: deltas ${JSON.stringify(deltas)} != done ${JSON.stringify(done.data.response)}`);
      return { text, reply: done.data.response, messageCount: done.data.message_count };
    };

    const runUser = async (log: UserLog) => {
      // Sessions are created under load too.
      try {
        const created = await call(server.url, 'POST', '/api/v1/chatbot/session', { user_id: log.user });
        if (created.status !== 200) {
          log.unexpected.push(`create: ${created.status} ${JSON.stringify(created.body)}`);
          return;
        }
        log.sessionId = created.body.session_id;
      } catch {
        return; // the server died first
      }
      for (let k = 1; !killed; k++) {
        const text = `${log.user} says message ${k}`;
        log.sent.push(text);
        let ack: Ack | null;
        try {
          ack = log.streams ? await sendStreamed(log, text) : await sendPlain(log, text);
        } catch (error) {
          if (!killed) log.unexpected.push(`${text}: ${String(error)}`);
          return;
        }
        if (!ack) return;
        log.acks.push(ack);
        acked += 1;
      }
    };

    const started = Date.now();
    const users = logs.map(runUser);
    while (!(acked >= KILL_AFTER_REPLIES && Date.now() - started >= MIN_LOAD_MS) && Date.now() - started < MAX_LOAD_MS) {
      await sleep(5);
    }
    const loadMs = Date.now() - started;
    // Flag first so that a connection error from now on counts as the crash, not as a server bug.
    killed = true;
    await server.stop('SIGKILL');
    // Killed by a signal its exitCode stays null, so a second stop() would wait for an exit that happened.
    first = undefined;
    await Promise.all(users);

    const inFlight = logs.filter((l) => l.sessionId && l.sent.length > l.acks.length).length;
    console.info(`crash: killed after ${loadMs} ms with ${acked} replies received; ${inFlight} sends were in flight`);

    // While alive the server answered every request it finished with 200.
    expect(logs.flatMap((l) => l.unexpected)).toEqual([]);
    expect(acked).toBeGreaterThanOrEqual(50);
    const withSession = logs.filter((l) => l.sessionId);
    expect(withSession.length).toBe(USERS);

    // Each reply was in order: the k-th acknowledged reply says message_count k and answers its own text.
    for (const log of withSession) {
      log.acks.forEach((ack, k) => {
        expect(ack.messageCount, `${ack.text}`).toBe(k + 1);
        expect(ack.reply).toBe(`Reply to: ${ack.text}`);
      });
    }

    // Under load too, every model call saw exactly the exchanges before it, with no orphan turn.
    const byUser = new Map(logs.map((l) => [l.user, l]));
    const contextOf = (request: RecordedRequest) => request.messages.slice(1).map((m) => `${m.role}:${m.content}`);
    for (const request of model.requests) {
      const text = lastUserMessage(request);
      const match = /^(crash_user_\d+) says message (\d+)$/.exec(text)!;
      const log = byUser.get(match[1]!)!;
      const k = Number(match[2]);
      const expected = log.sent.slice(0, k - 1).flatMap((t) => [`user:${t}`, `assistant:Reply to: ${t}`]);
      expect(contextOf(request), text).toEqual([...expected, `user:${text}`]);
    }

    // A new process on the same file.
    second = await ServerProcess.start({ entry: 'source', env });
    const base = second.url;
    let inFlightStored = 0;
    const stored = new Map<string, Stored[]>();
    for (const log of withSession) {
      const { session, history } = await readHistory(base, log.sessionId!);
      const where = `${log.user} (${log.sessionId})`;
      expect(session.status, where).toBe('active');
      expect(session.user_id, where).toBe(log.user);

      // Strictly user, assistant, user, assistant... numbered 1..n with no gap: no orphan turn.
      expect(history.length % 2, `${where}: odd history ${JSON.stringify(history.slice(-3))}`).toBe(0);
      expect(history.map((m) => m.seq), where).toEqual(history.map((_, i) => i + 1));
      history.forEach((m, i) => expect(m.role, `${where} seq ${m.seq}`).toBe(i % 2 === 0 ? 'user' : 'assistant'));
      const exchanges = history.length / 2;
      expect(session.message_count, where).toBe(exchanges);

      // No acknowledged reply is missing (listed by text, to show what was lost).
      const lost = log.acks.filter((ack) => history[2 * ack.messageCount - 1]?.content !== ack.reply).map((ack) => ack.text);
      expect(lost, `${where}: acknowledged replies not stored`).toEqual([]);

      // The stored questions are what the client sent, in order, each once: every acknowledged one,
      // plus at most the one in flight when the server died.
      const questions = history.filter((m) => m.role === 'user').map((m) => m.content);
      expect(questions, where).toEqual(log.sent.slice(0, exchanges));
      expect(exchanges, where).toBeGreaterThanOrEqual(log.acks.length);
      expect(exchanges, where).toBeLessThanOrEqual(Math.min(log.sent.length, log.acks.length + 1));
      if (exchanges > log.acks.length) inFlightStored += 1;
      for (let i = 0; i < history.length; i += 2) {
        expect(history[i + 1]!.content, `${where} seq ${history[i + 1]!.seq}`).toBe(`Reply to: ${history[i]!.content}`);
      }
      // Every reply received is stored right after its own question, at the position it was told.
      for (const ack of log.acks) {
        expect(history[2 * ack.messageCount - 2]!.content, where).toBe(ack.text);
        expect(history[2 * ack.messageCount - 1]!.content, where).toBe(ack.reply);
        expect(history.filter((m) => m.role === 'assistant' && m.content === ack.reply), where).toHaveLength(1);
      }
      // The user has exactly the one session it created.
      const listed = await call(base, 'GET', `/api/v1/chatbot/sessions?user_id=${log.user}`);
      expect(listed.body.sessions.map((s: any) => s.session_id), where).toEqual([log.sessionId]);
      stored.set(log.sessionId!, history);
    }
    console.info(`crash: ${inFlightStored} of ${inFlight} in-flight exchanges had committed before the kill`);

    // Every session goes on, concurrently, and the model sees its whole stored conversation.
    const continued = await Promise.all(
      withSession.map(async (log) => {
        const text = `${log.user} is back after the crash`;
        const res = await call(base, 'POST', `/api/v1/chatbot/session/${log.sessionId}/message`, { message: text });
        return { log, text, res };
      }),
    );
    for (const { log, text, res } of continued) {
      const history = stored.get(log.sessionId!)!;
      expect(res.status, `${log.user}: ${JSON.stringify(res.body)}`).toBe(200);
      expect(res.body.response).toBe(`Reply to: ${text}`);
      expect(res.body.message_count).toBe(history.length / 2 + 1);
      const requests = model.requests.filter((r) => lastUserMessage(r) === text);
      expect(requests, text).toHaveLength(1);
      expect(requests[0]!.messages[0]!.role).toBe('system');
      expect(contextOf(requests[0]!), text).toEqual([...history.map((m) => `${m.role}:${m.content}`), `user:${text}`]);

      const after = await readHistory(base, log.sessionId!);
      expect(after.history.map((m) => m.content)).toEqual([...history.map((m) => m.content), text, `Reply to: ${text}`]);
      expect(after.session.message_count).toBe(history.length / 2 + 1);
    }
  }, 90_000);
});
