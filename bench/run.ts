/**
 * `npm run bench`: what the server adds on top of the model. Starts the fake model, the real server
 * (production build) and simulated users, each in its own process, on loopback; prints a table and
 * appends it to BENCHMARKS.md. Every phase is bounded in time.
 */
import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { LoadPlan, LoadResult, Sample } from './load.js';
import {
  cpuSecondsOf,
  LoadProcess,
  ModelProcess,
  startBareForwarder,
  startServer,
  type ServerOptions,
  type ServerProcess,
} from './processes.js';
import { machine, ms, percentile, record, table, type Row } from './report.js';
import { stageBreakdown } from './stages.js';
import { bareServerRate } from './calibrate.js';
import { growBranches } from './branches.js';

/** Versions of one reply in the flatness row's wide tree. */
const BRANCHES = 1000;

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    'no-record': { type: 'boolean', default: false },
  },
});

const quick = args.quick;
/** Seconds a simulated person spends reading and typing between messages, as [min, max] ms. */
const THINK: [number, number] = [1000, 3000];
const scenarios = new Set((args.only ?? 'startup,throughput,overhead,streaming,floor,flatness,memory').split(','));
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

if (args.store !== 'sqlite' && args.store !== 'postgres') {
  console.error(`--store ${args.store}: use sqlite or postgres.`);
  process.exit(2);
}
if (args.store === 'postgres' && !process.env['TEST_DATABASE_URL']) {
  console.error('--store postgres needs TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test (a database is created per run).');
  process.exit(2);
}
const store = args.store;

const model = await ModelProcess.start();
const load = await LoadProcess.start();
const rows: Row[] = [];
const notes: string[] = [];
const profileDir = args.profile ? 'bench-output/profiles' : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });

async function withServer<T>(run: (server: ServerProcess) => Promise<T>, options: Partial<ServerOptions> = {}): Promise<T> {
  const { server, dispose } = await startServer({
    store,
    modelUrl: model.url,
    cpuProfileDir: profileDir,
    env: Object.fromEntries(args.env.map((pair) => [pair.split('=')[0]!, pair.slice(pair.indexOf('=') + 1)])),
    ...options,
  });
  try {
    return await run(server);
  } finally {
    await server.stop();
    await dispose();
  }
}

/** One value of the server's /metrics (summed over labels), or 0. */
function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const scrape = async (server: ServerProcess) => (await fetch(`${server.url}/metrics`)).text();

/**
 * Runs one measured phase and notes how busy each process was (share of one core), and what the
 * server's own event loop saw: its delay (prom-client resets it at each scrape, so this is the
 * phase's) and the time spent collecting garbage.
 */
async function measured(name: string, server: ServerProcess, plan: LoadPlan): Promise<LoadResult> {
  const cpu = () => ({ server: server.cpuSeconds(), model: cpuSecondsOf(model.child.pid!), load: cpuSecondsOf(load.child.pid!) });
  const gcBefore = metric(await scrape(server), 'chatify_process_nodejs_gc_duration_seconds_sum');
  const before = cpu();
  const result = await load.run(plan);
  const after = cpu();
  const stats = await scrape(server);
  const ms = (name: string) => (metric(stats, name) * 1000).toFixed(1);
  const gcMs = (metric(stats, 'chatify_process_nodejs_gc_duration_seconds_sum') - gcBefore) * 1000;
  notes.push(
    `${name}: server event-loop delay p50 ${ms('chatify_process_nodejs_eventloop_lag_p50_seconds')} ms, ` +
      `p99 ${ms('chatify_process_nodejs_eventloop_lag_p99_seconds')} ms, max ${ms('chatify_process_nodejs_eventloop_lag_max_seconds')} ms; ` +
      `garbage collection ${Math.round(gcMs)} ms (${((gcMs / result.elapsedMs) * 100).toFixed(1)}% of the phase)`,
  );
  const share = (key: keyof typeof before) => `${Math.round(((after[key] - before[key]) / (result.elapsedMs / 1000)) * 100)}%`;
  notes.push(
    `${name}: CPU (share of one core) server ${share('server')}, fake model ${share('model')}, load ${share('load')}; ` +
      `server CPU per message ${Math.round(((after.server - before.server) / Math.max(1, result.samples.length)) * 1e6)} µs`,
  );
  return result;
}

function checkErrors(name: string, result: { errors: number; firstError?: string }): void {
  if (result.errors > 0) {
    notes.push(`${name}: ${result.errors} failed sessions (first: ${result.firstError})`);
    console.error(`${name}: ${result.errors} errors, first: ${result.firstError}`);
  }
}

/** Per message: what the server added to the model's own time; for plain replies also where it went. */
async function overheads(samples: Sample[], stream: boolean): Promise<{ added: number[]; stages?: string | undefined }> {
  const timings = await model.timings();
  const added: number[] = [];
  for (const sample of samples) {
    const timing = timings.get(sample.key);
    const measured = stream ? sample.firstDeltaMs : sample.totalMs;
    if (timing && measured !== undefined) added.push(measured - (stream ? timing.firstTokenMs : timing.totalMs));
  }
  return { added, stages: stream ? undefined : stageBreakdown(samples, timings) };
}

const thinking = `${THINK[0] / 1000}–${THINK[1] / 1000} s`;

/** Users of the two many-users loads (and their floor). */
const overheadUsers = quick ? 200 : 1000;

/**
 * Warms the server at `baseUrl` up with a short run of the same shape (so code is compiled, pools
 * are open and heaps have grown, as in a server that has been running), runs the many-users load
 * against it (through `run`, which may add measurements), and returns what the server added to the
 * model's own time for each message: whole answers for plain sends, the first delta against the
 * model's first token for streamed ones. Users arrive spread over the first think time rather than
 * all in one millisecond.
 */
async function addedOverModel(
  baseUrl: string,
  stream: boolean,
  messagesPerSession: number,
  tag: string,
  run: (plan: LoadPlan) => Promise<LoadResult> = (plan) => load.run(plan),
): Promise<{ added: number[]; stages?: string | undefined }> {
  const many = { baseUrl, users: overheadUsers, durationMs: 0, stream, thinkMs: THINK, arriveWithinMs: THINK[1] };
  await load.run({ ...many, messagesPerSession: 1, tag: 'warm' });
  await model.timings();
  const result = await run({ ...many, messagesPerSession, tag });
  checkErrors(tag, result);
  return overheads(result.samples, stream);
}

const p50p99 = (added: number[]) => `p50 ${ms(percentile(added, 50))}, p99 ${ms(percentile(added, 99))}`;

/** Many users with a slow model against Chatify: one row, with the server's CPU and event loop noted. */
async function overheadOverModel(
  name: string,
  stream: boolean,
  messagesPerSession: number,
  metric: (users: number, messages: number) => string,
): Promise<void> {
  const { added, stages } = await withServer((server) =>
    addedOverModel(server.url, stream, messagesPerSession, name, (plan) => measured(name, server, plan)),
  );
  if (stages) notes.push(`${name}: ${stages}`);
  const p99 = percentile(added, 99);
  rows.push({ metric: metric(overheadUsers, added.length), result: p50p99(added), target: 'p99 ≤ 5 ms', met: p99 <= 5 });
}

try {
  rows.push({
    metric: 'this machine right now: a bare node:http JSON server over loopback, 64 connections (no Chatify code)',
    result: `${Math.round(await bareServerRate()).toLocaleString('en')} requests/s`,
    target: '',
  });

  if (scenarios.has('startup')) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) await withServer(async (server) => void times.push(server.startupMs));
    rows.push({
      metric: 'start-up to /ready (new database, process spawn included)',
      result: `median ${ms(percentile(times, 50))} of 3`,
      target: '',
    });
  }

  if (scenarios.has('throughput')) {
    await model.configure(0);
    const users = 64;
    const durationMs = quick ? 3000 : 10_000;
    const result = await withServer(async (server) => {
      await load.run({ baseUrl: server.url, users, messagesPerSession: 10, durationMs: 1500, stream: false, tag: 'warm' });
      await model.timings();
      const before = await model.housekeeping();
      const measuredResult = await measured('throughput', server, { baseUrl: server.url, users, messagesPerSession: 10, durationMs, stream: false, tag: 'tp' });
      // Housekeeping runs beside the replies: give the last jobs a moment before counting.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const after = await model.housekeeping();
      const per100 = (n: number) => ((100 * n) / measuredResult.samples.length).toFixed(1);
      const calls = { titles: after.titles - before.titles, summaries: after.summaries - before.summaries, memories: after.memories - before.memories };
      rows.push({
        metric: 'housekeeping model calls per 100 messages in the throughput phase (titles, summaries, memories; MEMORY_MODEL)',
        result: `${per100(calls.titles + calls.summaries + calls.memories)} (titles ${per100(calls.titles)}, summaries ${per100(calls.summaries)}, memories ${per100(calls.memories)})`,
        target: '',
      });
      return measuredResult;
    });
    checkErrors('throughput', result);
    const latencies = result.samples.map((s) => s.totalMs);
    const rate = (result.samples.length / result.elapsedMs) * 1000;
    rows.push({
      metric: `throughput, 0 ms model, non-streaming, ${users} users × (create, 10 messages, end)`,
      result: `${Math.round(rate).toLocaleString('en')} msg/s; latency p50 ${ms(percentile(latencies, 50))}, p95 ${ms(percentile(latencies, 95))}, p99 ${ms(percentile(latencies, 99))}`,
      target: '≥ 2,500 msg/s',
      met: rate >= 2500,
    });
    await model.timings();
  }

  if (scenarios.has('overhead')) {
    await model.configure(500);
    await overheadOverModel('overhead', false, 5, (users, count) =>
      `overhead at 500 ms model, ${users} concurrent users thinking ${thinking} between messages (end-to-end − model time, ${count} messages)`,
    );
  }

  if (scenarios.has('streaming')) {
    await model.configure(500, 5, 20);
    await overheadOverModel('streaming', true, 3, (users) =>
      `streaming first delta − model first token, 500 ms to first token, ${users} concurrent users thinking ${thinking}`,
    );
  }

  if (scenarios.has('floor')) {
    // The same two loads against a server that only forwards to the model: what the harness and
    // this machine add by themselves, the floor under the two rows above.
    const forwarder = await startBareForwarder(model.url);
    try {
      await model.configure(500);
      const { added: plain } = await addedOverModel(forwarder.url, false, 5, 'floor-plain');
      await model.configure(500, 5, 20);
      const { added: streamed } = await addedOverModel(forwarder.url, true, 3, 'floor-stream');
      rows.push({
        metric: `floor: the same ${overheadUsers}-user loads against a bare node:http server that only forwards to the model (no framework, no storage)`,
        result: `overhead ${p50p99(plain)}; streaming first delta ${p50p99(streamed)}`,
        target: '',
      });
    } finally {
      forwarder.stop();
    }
  }

  if (scenarios.has('flatness')) {
    await model.configure(0);
    const big = quick ? 2000 : 10_000;
    const probe = quick ? 100 : 300;
    const ratio = await withServer(async (server) => {
      const create = async () => {
        const res = await fetch(`${server.url}/api/v1/chatbot/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: 'bench_flat' }),
        });
        return ((await res.json()) as { session_id: string }).session_id;
      };
      const small = await create();
      const large = await create();
      const branchy = await create();
      const fill = (sessionId: string, messages: number, tag: string) =>
        load.run({ baseUrl: server.url, users: 1, messagesPerSession: messages / 2, durationMs: 0, stream: false, tag, sessionId });
      await fill(small, 10, 'fill-small');
      await fill(large, big, 'fill-large');
      await fill(branchy, 10, 'fill-branchy');
      await growBranches(server.url, branchy, BRANCHES);
      const median = async (sessionId: string, tag: string) => {
        const result = await load.run({ baseUrl: server.url, users: 1, messagesPerSession: probe, durationMs: 0, stream: false, tag, sessionId });
        return percentile(result.samples.map((s) => s.totalMs), 50);
      };
      // Alternate to spread machine noise over both.
      const smallCost = [await median(small, 's1'), await median(small, 's2')];
      const largeCost = [await median(large, 'l1'), await median(large, 'l2')];
      const branchyCost = [await median(branchy, 'b1'), await median(branchy, 'b2')];
      const a = Math.min(...smallCost);
      const b = Math.min(...largeCost);
      const c = Math.min(...branchyCost);
      await model.timings();
      return { a, b, ratio: b / a, c, treeRatio: c / a };
    });
    rows.push({
      metric: `flatness: message cost with 10 vs ${big.toLocaleString('en')} messages in the session (median of ${probe})`,
      result: `${ms(ratio.a)} vs ${ms(ratio.b)}: ${ratio.ratio.toFixed(2)}×`,
      target: '≤ 1.3×',
      met: ratio.ratio <= 1.3,
    });
    rows.push({
      metric: `flatness: message cost in a fresh session vs on an older branch of a ${BRANCHES.toLocaleString('en')}-branch tree (median of ${probe})`,
      result: `${ms(ratio.a)} vs ${ms(ratio.c)}: ${ratio.treeRatio.toFixed(2)}×`,
      target: '≤ 1.3×',
      met: ratio.treeRatio <= 1.3,
    });
  }

  if (scenarios.has('memory')) {
    await model.configure(0);
    const sessions = quick ? 2000 : 10_000;
    const mem = await withServer(async (server) => {
      await load.run({ baseUrl: server.url, users: 20, messagesPerSession: 1, durationMs: 0, stream: false, tag: 'warm' });
      const before = server.rssMiB();
      // Active sessions, each with one exchange held in memory: users that never end their session.
      await load.run({
        baseUrl: server.url,
        users: 100,
        sessionsPerUser: sessions / 100,
        messagesPerSession: 1,
        endSessions: false,
        durationMs: 0,
        stream: false,
        tag: 'mem',
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const after = server.rssMiB();
      await model.timings();
      return { before, after };
    });
    const perSessionKiB = ((mem.after - mem.before) * 1024) / sessions;
    rows.push({
      metric: `memory: server RSS with ${sessions.toLocaleString('en')} active sessions (one exchange each)`,
      result: `${mem.after.toFixed(0)} MiB (${mem.before.toFixed(0)} MiB before; ≈ ${perSessionKiB.toFixed(1)} KiB per session)`,
      target: '≤ 300 MB',
      met: mem.after * 1.048576 <= 300,
    });
  }
} finally {
  model.stop();
  load.stop();
}

console.log(`\n${machine()}\n${command}\n\n${table(rows)}\n`);
for (const note of notes) console.log(`- ${note}`);
if (!args['no-record']) {
  const heading = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${revision()}, store ${args.store}${quick ? ', quick' : ''}`;
  record('BENCHMARKS.md', heading, command, rows, notes);
  console.log('Appended to BENCHMARKS.md');
}
if (profileDir) console.log(`CPU profiles of the server: ${profileDir}/ (open in Chrome DevTools)`);

/** The commit measured, marked when the work tree has changes on top of it. */
function revision(): string {
  try {
    const hash = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain -- src bench package.json', { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${hash} + changes` : hash;
  } catch {
    return 'unknown';
  }
}
