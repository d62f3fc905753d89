/**
 * Simulated users, in their own process, over real HTTP (undici). Each user creates a session,
 * sends k messages (waiting for each reply) and ends it. Reports one sample per message.
 */
import { Pool } from 'undici';

export interface LoadPlan {
  baseUrl: string;
  /** Users running at once. */
  users: number;
  messagesPerSession: number;
  /** Keep starting new sessions until this many ms have passed; 0: each user runs `sessionsPerUser`. */
  durationMs: number;
  /** Sessions each user runs when `durationMs` is 0 (default 1). */
  sessionsPerUser?: number;
  /** End each session after its messages (default true); false leaves them active. */
  endSessions?: boolean;
  stream: boolean;
  /** Tag for the message keys, so samples of different phases never mix. */
  tag: string;
  /** A person reads and types between messages: wait a random time in [min, max] ms before each. */
  thinkMs?: [number, number];
  /** People do not all arrive in the same millisecond: each user starts at a random time in [0, arriveWithinMs). */
  arriveWithinMs?: number;
  /** Reuse this session for every message instead of creating one per user (flatness). */
  sessionId?: string;
}

export interface Sample {
  /** The message text, which the fake model's timings are keyed by. */
  key: string;
  /** Request sent → reply complete. */
  totalMs: number;
  /** Request sent → first delta event (streaming only). */
  firstDeltaMs?: number;
  /** The server's own account of a JSON answer, from its Server-Timing header (name → ms). */
  server?: Record<string, number>;
}

export interface LoadResult {
  samples: Sample[];
  elapsedMs: number;
  errors: number;
  firstError?: string;
}

async function run(plan: LoadPlan): Promise<LoadResult> {
  const pool = new Pool(plan.baseUrl, { connections: plan.users, keepAliveTimeout: 60_000, pipelining: 1 });
  const samples: Sample[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + plan.durationMs;

  const json = async (method: 'POST' | 'DELETE', path: string, body?: unknown) => {
    const res = await pool.request({
      method,
      path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${method} ${path} → ${res.statusCode} ${text.slice(0, 200)}`);
    return { body: JSON.parse(text) as Record<string, unknown>, timing: res.headers['server-timing'] };
  };

  const send = async (sessionId: string, key: string) => {
    const path = `/api/v1/chatbot/session/${sessionId}/message`;
    const t0 = performance.now();
    if (!plan.stream) {
      const { timing } = await json('POST', path, { message: key });
      samples.push({ key, totalMs: performance.now() - t0, ...(typeof timing === 'string' ? { server: parseServerTiming(timing) } : {}) });
      return;
    }
    const res = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ message: key }),
    });
    if (res.statusCode !== 200) throw new Error(`stream → ${res.statusCode} ${await res.body.text()}`);
    let firstDeltaMs: number | undefined;
    let text = '';
    for await (const chunk of res.body) {
      firstDeltaMs ??= performance.now() - t0;
      text += (chunk as Buffer).toString('utf8');
    }
    if (!text.includes('event: done')) throw new Error(`stream ended without done: ${text.slice(-200)}`);
    samples.push({ key, totalMs: performance.now() - t0, firstDeltaMs });
  };

  const user = async (u: number) => {
    if (plan.arriveWithinMs) await sleep(Math.random() * plan.arriveWithinMs);
    let session = 0;
    do {
      try {
        const id = plan.sessionId ?? ((await json('POST', '/api/v1/chatbot/session', { user_id: `bench_${u}` })).body.session_id as string);
        for (let m = 0; m < plan.messagesPerSession; m++) {
          if (plan.thinkMs) await sleep(plan.thinkMs[0] + Math.random() * (plan.thinkMs[1] - plan.thinkMs[0]));
          await send(id, `${plan.tag}-u${u}-s${session}-m${m}`);
        }
        if (!plan.sessionId && plan.endSessions !== false) await json('DELETE', `/api/v1/chatbot/session/${id}`);
      } catch (error) {
        errors += 1;
        firstError ??= (error as Error).message;
      }
      session += 1;
    } while (plan.durationMs > 0 ? performance.now() < deadline : session < (plan.sessionsPerUser ?? 1));
  };

  await Promise.all(Array.from({ length: plan.users }, (_, u) => user(u)));
  const elapsedMs = performance.now() - started;
  await pool.close();
  return { samples, elapsedMs, errors, ...(firstError ? { firstError } : {}) };
}

/** `a;dur=1.5, b;dur=2` → { a: 1.5, b: 2 } */
function parseServerTiming(header: string): Record<string, number> {
  const entries: Record<string, number> = {};
  for (const metric of header.split(',')) {
    const [name, ...params] = metric.trim().split(';');
    const dur = params.find((p) => p.startsWith('dur='));
    if (name && dur) entries[name] = Number(dur.slice(4));
  }
  return entries;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

process.on('message', (plan: LoadPlan) => {
  run(plan).then(
    (result) => process.send!({ type: 'result', result }),
    (error: unknown) => process.send!({ type: 'failed', error: String(error) }),
  );
});
process.send!({ type: 'ready' });
