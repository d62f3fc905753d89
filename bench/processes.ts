import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelTiming } from '../test/support/fake-openai.js';
import { NO_RATE_LIMITS } from '../test/support/limits.js';
import { createTestDatabase } from '../test/support/postgres.js';
import { ServerProcess } from '../test/support/server-process.js';
import type { LoadPlan, LoadResult } from './load.js';
import type { ModelCommand } from './fake-model.js';

const TSX = ['--import', 'tsx'];

/** Waits for the next IPC message of the given type from a child. */
function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: { type: string }) => {
      if (message.type !== type && message.type !== 'failed') return;
      cleanup();
      if (message.type === type) resolve(message as T);
      else reject(new Error(JSON.stringify(message)));
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited with ${code} before sending ${type}`));
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export class ModelProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(): Promise<ModelProcess> {
    const child = fork(new URL('./fake-model.ts', import.meta.url), [], { execArgv: TSX });
    const { url } = await nextMessage<{ url: string }>(child, 'ready');
    return new ModelProcess(child, url);
  }

  async configure(latencyMs: number, tokenDelayMs = 0, replyWords = 12): Promise<void> {
    const done = nextMessage(this.child, 'configured');
    this.child.send({ type: 'configure', latencyMs, tokenDelayMs, replyWords } satisfies ModelCommand);
    await done;
  }

  /** The timings recorded since the last call, keyed by message. */
  async timings(): Promise<Map<string, ModelTiming>> {
    const reply = nextMessage<{ timings: ModelTiming[] }>(this.child, 'timings');
    this.child.send({ type: 'timings' } satisfies ModelCommand);
    return new Map((await reply).timings.map((t) => [t.key, t]));
  }

  /** Housekeeping requests (titles, summaries, memories) answered since the model started. */
  async housekeeping(): Promise<{ titles: number; summaries: number; memories: number }> {
    const reply = nextMessage<{ counts: { titles: number; summaries: number; memories: number } }>(this.child, 'housekeeping');
    this.child.send({ type: 'housekeeping' } satisfies ModelCommand);
    return (await reply).counts;
  }

  stop(): void {
    this.child.send({ type: 'stop' } satisfies ModelCommand);
  }
}

export class LoadProcess {
  private constructor(readonly child: ChildProcess) {}

  static async start(): Promise<LoadProcess> {
    const child = fork(new URL('./load.ts', import.meta.url), [], { execArgv: TSX });
    await nextMessage(child, 'ready');
    return new LoadProcess(child);
  }

  async run(plan: LoadPlan): Promise<LoadResult> {
    const reply = nextMessage<{ result: LoadResult }>(this.child, 'result');
    this.child.send(plan);
    return (await reply).result;
  }

  stop(): void {
    this.child.kill();
  }
}

export interface ServerOptions {
  modelUrl: string;
  /** sqlite: a new file; postgres: a new database on the server TEST_DATABASE_URL names. */
  store: 'sqlite' | 'postgres';
  env?: Record<string, string>;
  cpuProfileDir?: string;
}

/** The production build of the server on a new, empty store, with the benchmark's settings. */
export async function startServer(options: ServerOptions): Promise<{ server: ServerProcess; dispose: () => Promise<void> }> {
  let databaseUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'chatify-bench-')), 'bench.db')}`;
  let dispose = async (): Promise<void> => undefined;
  if (options.store === 'postgres') {
    const database = await createTestDatabase();
    databaseUrl = database.url;
    dispose = database.drop;
  }
  const server = await ServerProcess.start({
    entry: 'dist',
    nodeArgs: options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [],
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: databaseUrl,
      OPENAI_API_KEY: 'bench',
      OPENAI_BASE_URL: options.modelUrl,
      LLM_MAX_RETRIES: '0',
      LLM_TIMEOUT_MS: '60000',
      SESSION_CACHE_MAX: '50000',
      DATABASE_POOL_MAX: '20',
      // Simulated users all come from one address, far faster than people: limits would only measure themselves.
      ...NO_RATE_LIMITS,
      ...options.env,
    },
  });
  return { server, dispose };
}

/** The bare forwarding server of bench/bare-forwarder.ts: the harness's floor. */
export async function startBareForwarder(modelUrl: string): Promise<{ url: string; stop: () => void }> {
  const child = fork(new URL('./bare-forwarder.ts', import.meta.url), [new URL(modelUrl).origin], { execArgv: TSX });
  const { url } = await nextMessage<{ url: string }>(child, 'ready');
  return { url, stop: () => child.kill() };
}

export { cpuSecondsOf, ServerProcess } from '../test/support/server-process.js';
