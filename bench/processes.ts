import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelTiming } from '../test/support/fake-openai.js';
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

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
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
  databaseUrl?: string;
  env?: Record<string, string>;
  cpuProfileDir?: string;
}

/** The real server, built (dist/main.js) and in production mode, in its own process. */
export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    /** Spawn → first 200 from /ready. */
    readonly startupMs: number,
    readonly databaseUrl: string,
  ) {}

  static async start(options: ServerOptions): Promise<ServerProcess> {
    const port = await freePort();
    const databaseUrl = options.databaseUrl ?? `sqlite:${join(mkdtempSync(join(tmpdir(), 'chatify-bench-')), 'bench.db')}`;
    const args = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    const started = performance.now();
    const child = spawn(process.execPath, [...args, 'dist/main.js'], {
      env: {
        PATH: process.env['PATH'] ?? '',
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        OPENAI_API_KEY: 'bench',
        OPENAI_BASE_URL: options.modelUrl,
        LLM_MAX_RETRIES: '0',
        LLM_TIMEOUT_MS: '60000',
        SESSION_CACHE_MAX: '50000',
        ...options.env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      try {
        if ((await fetch(`${url}/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return new ServerProcess(child, url, performance.now() - started, databaseUrl);
  }

  /** CPU time (user + system) the server has used so far, in seconds. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.child.pid!);
  }

  /** Resident set size of the server process, in MiB. */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** CPU time (user + system) of a process, from /proc, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
