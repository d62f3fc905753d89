import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAi, lastUserMessage, type Fault } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';
import { readEvents } from './support/sse.js';

/**
 * Model outage: the fake model fails about 30% of its calls (500, 429 with retry-after 0, hangs,
 * streams that stall mid-answer), chosen by a seeded generator so every run injects the same
 * sequence. Every request must end within a bound set by LLM_TIMEOUT_MS and LLM_MAX_RETRIES with a
 * reply or a clear error, and afterwards no conversation holds a duplicated or orphaned turn.
 */

const TIMEOUT_MS = 500;
const SESSIONS = 8;
const SENDS_PER_SESSION = 20;
/** Sessions from this index on send two messages at once (queued behind each other in the server). */
const PAIRED_FROM = 6;
/** Time beyond the model's own bound allowed for the server, the event loop and the test. */
const SLACK_MS = 1000;

/** The error a failed send may end with: status and code agree, and the code is a model failure. */
const MODEL_ERRORS: Record<number, string> = { 502: 'provider_error', 503: 'provider_unavailable', 504: 'provider_timeout' };

/** mulberry32: a tiny seeded generator, so the injected faults are the same in every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** About 30% of calls fail: 10% 500, 10% 429 (retry-after 0), 7% hang, 3% stall after two tokens. */
function outage(seed: number) {
  const random = seeded(seed);
  const counts = { calls: 0, status500: 0, status429: 0, hang: 0, stall: 0 };
  const next = (): Fault | undefined => {
    counts.calls += 1;
    const r = random();
    if (r >= 0.3) return undefined;
    if (r < 0.1) {
      counts.status500 += 1;
      return { status: 500 };
    }
    if (r < 0.2) {
      counts.status429 += 1;
      return { status: 429, retryAfterSeconds: 0 };
    }
    if (r < 0.27) {
      counts.hang += 1;
      return { hang: true };
    }
    counts.stall += 1;
    return { stallAfterTokens: 2 };
  };
  return { next, counts };
}

/** The longest a model call may take with this many retries: every attempt times out, full backoff. */
function modelBoundMs(retries: number): number {
  let backoff = 0;
  for (let n = 0; n < retries; n++) backoff += Math.min(500 * 2 ** n, 8000); // the SDK's backoff, before jitter
  return (retries + 1) * TIMEOUT_MS + backoff;
}

interface Outcome {
  session: string;
  text: string;
  streamed: boolean;
  ms: number;
  /** 'ok': a reply; 'error': a clear error; 'bad': anything else (described in `detail`). */
  kind: 'ok' | 'error' | 'bad';
  reply?: string;
  messageCount?: number;
  code?: string;
  detail?: string;
}

interface Stored {
  seq: number;
  role: string;
  content: string;
}

for (const retries of [0, 1]) describe(`a model failing 30% of its calls, LLM_MAX_RETRIES=${retries}`, () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  const faults = outage(0xc4a7 + retries);
  const boundMs = modelBoundMs(retries) + SLACK_MS;

  beforeAll(async () => {
    model = await FakeOpenAi.start({ latencyMs: (i) => (i * 3) % 11 });
    server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, {
        LLM_TIMEOUT_MS: String(TIMEOUT_MS),
        LLM_MAX_RETRIES: String(retries),
        // The whole conversation goes to the model, so the context can be compared exactly.
        CONTEXT_MAX_MESSAGES: '1000',
        CONTEXT_MAX_TOKENS: '1000000',
        // Every call reaches the model, so the fault mix is exactly the one chosen; the circuit
        // breaker, which would pause calls after a run of failures, has its own test.
        LLM_BREAKER_FAILURES: '1000',
      }),
    );
  });
  afterAll(async () => {
    await server?.close();
    await model?.close();
  });

  /** One send, plain or streamed, classified; never waits much past the bound. */
  async function send(session: string, text: string, streamed: boolean): Promise<Outcome> {
    const started = performance.now();
    const base = { session, text, streamed };
    const elapsed = () => Math.round(performance.now() - started);
    const error = (status: number | 'stream', body: any): Outcome => {
      const code = body?.error?.code ?? body?.code;
      const message = body?.error?.message ?? body?.message;
      const clear =
        (status === 'stream' ? Object.values(MODEL_ERRORS).includes(code) : MODEL_ERRORS[status] === code) &&
        (status === 'stream' || body?.success === false) &&
        typeof message === 'string' &&
        message.length > 0;
      return clear
        ? { ...base, ms: elapsed(), kind: 'error', code }
        : { ...base, ms: elapsed(), kind: 'bad', detail: `${status} ${JSON.stringify(body)}` };
    };
    try {
      const res = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${session}/message${streamed ? '?stream=true' : ''}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: text }),
        // A server that never answers shows up as 'bad', not as a stuck test.
        signal: AbortSignal.timeout(boundMs * 2 + 5000),
      });
      if (!streamed || res.status !== 200) {
        const body: any = await res.json().catch(() => null);
        if (res.status !== 200) return error(res.status, body);
        return { ...base, ms: elapsed(), kind: 'ok', reply: body.response, messageCount: body.message_count };
      }
      const events = await readEvents(res);
      const terminal = events.filter((e) => e.event !== 'delta');
      const last = terminal[0];
      if (!last || terminal.length !== 1 || events.at(-1) !== last) {
        return { ...base, ms: elapsed(), kind: 'bad', detail: `stream events ${JSON.stringify(events.map((e) => e.event))}` };
      }
      if (last.event === 'error') return error('stream', last.data);
      if (last.event !== 'done') return { ...base, ms: elapsed(), kind: 'bad', detail: `ended with ${last.event}` };
      const deltas = events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('');
      if (deltas !== last.data.response) {
        return { ...base, ms: elapsed(), kind: 'bad', detail: `deltas ${JSON.stringify(deltas)} != done ${JSON.stringify(last.data.response)}` };
      }
      return { ...base, ms: elapsed(), kind: 'ok', reply: last.data.response, messageCount: last.data.message_count };
    } catch (failure) {
      return { ...base, ms: elapsed(), kind: 'bad', detail: `no answer: ${String(failure)}` };
    }
  }

  async function history(session: string): Promise<{ body: any; messages: Stored[] }> {
    const res = await server.get(`/api/v1/chatbot/session/${session}?limit=500`);
    expect(res.status).toBe(200);
    expect(res.body.has_more).toBe(false);
    return { body: res.body, messages: res.body.conversation_history };
  }

  it('answers every request within the timeout, and leaves no duplicated or orphaned turn', async () => {
    const sessions = await Promise.all(Array.from({ length: SESSIONS }, (_, i) => server.createSession(`outage_user_${i}`)));
    model.randomFault = faults.next;

    const outcomes: Outcome[] = [];
    const started = performance.now();
    await Promise.all(
      sessions.map(async (session, s) => {
        const texts = Array.from({ length: SENDS_PER_SESSION }, (_, k) => `session ${s} message ${k + 1}`);
        // Every third send streams its reply (query parameter), the rest are plain calls.
        const streamed = (k: number) => (k + s) % 3 === 0;
        if (s < PAIRED_FROM) {
          for (const [k, text] of texts.entries()) outcomes.push(await send(session, text, streamed(k)));
        } else {
          for (let k = 0; k < texts.length; k += 2) {
            outcomes.push(...(await Promise.all([send(session, texts[k]!, streamed(k)), send(session, texts[k + 1]!, streamed(k + 1))])));
          }
        }
      }),
    );
    const totalMs = Math.round(performance.now() - started);
    model.randomFault = undefined;

    const paired = (o: Outcome) => sessions.indexOf(o.session) >= PAIRED_FROM;
    const slowest = (inPairs: boolean) => Math.max(...outcomes.filter((o) => paired(o) === inPairs).map((o) => o.ms));
    const count = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
    const codes = Object.fromEntries(
      [...new Set(outcomes.map((o) => o.code).filter(Boolean))].map((c) => [c, outcomes.filter((o) => o.code === c).length]),
    );
    console.info(
      `outage (retries ${retries}): ${outcomes.length} sends in ${totalMs} ms: ${count('ok')} ok, ${count('error')} errors ${JSON.stringify(codes)}, ` +
        `${count('bad')} bad; slowest ${slowest(false)} ms alone, ${slowest(true)} ms paired (bound ${boundMs} ms, ${2 * boundMs} ms when queued behind another); ` +
        `model calls ${JSON.stringify(faults.counts)}`,
    );

    // The fake model really failed about 30% of the calls, of every kind.
    const injected = faults.counts.status500 + faults.counts.status429 + faults.counts.hang + faults.counts.stall;
    expect(injected / faults.counts.calls).toBeGreaterThan(0.2);
    expect(injected / faults.counts.calls).toBeLessThan(0.4);
    for (const kind of ['status500', 'status429', 'hang', 'stall'] as const) expect(faults.counts[kind]).toBeGreaterThan(0);

    // Every request got a reply or a clear error...
    const describe_ = (o: Outcome) => `${o.text} (${o.streamed ? 'streamed' : 'plain'}): ${o.kind} ${o.code ?? o.detail ?? ''} after ${o.ms} ms`;
    expect(outcomes.filter((o) => o.kind === 'bad').map(describe_), 'requests without a reply or a clear error').toEqual([]);
    expect(outcomes).toHaveLength(SESSIONS * SENDS_PER_SESSION);
    expect(count('ok')).toBeGreaterThan(count('error'));
    if (retries === 0) {
      expect(codes['provider_error']).toBeGreaterThan(0);
      expect(codes['provider_timeout']).toBeGreaterThan(0);
      expect(outcomes.some((o) => o.streamed && o.kind === 'error')).toBe(true);
    }
    // ...within the timeout: one model call's bound, two for a send queued behind another one.
    const late = outcomes.filter((o) => o.ms > (paired(o) ? 2 : 1) * boundMs);
    expect(late.map(describe_), `requests slower than ${boundMs} ms (x2 when queued)`).toEqual([]);

    // The model was asked once for each reply, and never for a send that failed.
    const asked = new Map<string, number>();
    for (const request of model.requests) asked.set(lastUserMessage(request), (asked.get(lastUserMessage(request)) ?? 0) + 1);
    expect(outcomes.filter((o) => (asked.get(o.text) ?? 0) !== (o.kind === 'ok' ? 1 : 0)).map((o) => `${o.text}: ${o.kind}, asked ${asked.get(o.text) ?? 0}x`)).toEqual([]);

    for (const [s, session] of sessions.entries()) {
      const where = `session ${s} (${session})`;
      const { body, messages } = await history(session);
      const mine = outcomes.filter((o) => o.session === session);
      const ok = mine.filter((o) => o.kind === 'ok');

      // Strictly user, assistant, user, assistant..., numbered without gaps, each reply after its own question.
      expect(messages.map((m) => m.seq), where).toEqual(messages.map((_, i) => i + 1));
      const broken = messages.findIndex((m, i) => m.role !== (i % 2 === 0 ? 'user' : 'assistant'));
      expect(broken, `${where}: turns do not alternate at ${JSON.stringify(messages.slice(Math.max(0, broken - 2), broken + 2))}`).toBe(-1);
      expect(messages.length % 2, `${where}: ends on an unanswered turn ${JSON.stringify(messages.at(-1))}`).toBe(0);
      for (let i = 0; i + 1 < messages.length; i += 2) {
        expect(messages[i + 1]!.content, `${where} seq ${messages[i + 1]!.seq}`).toBe(`Reply to: ${messages[i]!.content}`);
      }
      expect(body.message_count, where).toBe(messages.length / 2);

      // Exactly the answered questions are stored, each once; the failed ones left nothing.
      const questions = messages.filter((m) => m.role === 'user').map((m) => m.content);
      expect([...questions].sort(), where).toEqual(ok.map((o) => o.text).sort());
      expect(new Set(questions).size, where).toBe(questions.length);
      for (const o of ok) {
        expect(o.reply, o.text).toBe(`Reply to: ${o.text}`);
        expect(messages[2 * o.messageCount! - 2]?.content, `${o.text} at message_count ${o.messageCount}`).toBe(o.text);
        expect(messages[2 * o.messageCount! - 1]?.content, `${o.text} at message_count ${o.messageCount}`).toBe(o.reply);
      }
      // Sequential sends are stored in the order they were sent.
      if (s < PAIRED_FROM) expect(questions, where).toEqual(ok.map((o) => o.text));

      // Each model call saw exactly the stored exchanges before its question: no failed question in it.
      for (const o of ok) {
        const request = model.requests.find((r) => lastUserMessage(r) === o.text)!;
        expect(request.messages.slice(1).map((m) => `${m.role}:${m.content}`), o.text).toEqual(
          messages.slice(0, 2 * o.messageCount! - 1).map((m) => `${m.role}:${m.content}`),
        );
      }

      // With the model back, the conversation goes on with its whole context.
      const text = `session ${s} after the outage`;
      const next = await server.send(session, text);
      expect(next.status, `${where}: ${JSON.stringify(next.body)}`).toBe(200);
      expect(next.body.message_count).toBe(messages.length / 2 + 1);
      const request = model.requests.find((r) => lastUserMessage(r) === text)!;
      expect(request.messages.slice(1).map((m) => m.content)).toEqual([...messages.map((m) => m.content), text]);
    }
  }, 60_000);
});
