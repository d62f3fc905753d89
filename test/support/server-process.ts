import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface ServerProcessOptions {
  /** The environment the server sees (PORT and HOST are set here). */
  env: Record<string, string>;
  /** `dist`: the production build (dist/main.js); `source`: src/main.ts through tsx. */
  entry: 'dist' | 'source';
  nodeArgs?: string[];
  /** Pass the server's log output through (stdout) instead of dropping it. */
  showLogs?: boolean;
  /** Keep the server's log output (stdout) for `logs`. */
  captureLogs?: boolean;
  /** Open files (sockets included) the server may have, whatever the machine's default. */
  fdLimit?: number;
}

/** `command args` run with a limit of `fdLimit` open files (raising it needs root or a high enough hard limit). */
export function withFdLimit(fdLimit: number, command: string, args: string[]): [string, string[]] {
  return ['/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, command, ...args]];
}

/** A real Chatify server in a process of its own, ready when start() resolves. */
export class ServerProcess {
  #logs = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    /** Spawn → first 200 from /ready. */
    readonly startupMs: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.#logs += chunk.toString('utf8')));
  }

  /** What the server logged so far (with `captureLogs`). */
  get logs(): string {
    return this.#logs;
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const port = await freePort();
    const entry = options.entry === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
    const started = performance.now();
    const args = [...(options.nodeArgs ?? []), ...entry];
    const [command, commandArgs] = options.fdLimit ? withFdLimit(options.fdLimit, process.execPath, args) : [process.execPath, args];
    const child = spawn(command, commandArgs, {
      env: { PATH: process.env['PATH'] ?? '', ...options.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', options.captureLogs ? 'pipe' : options.showLogs ? 'inherit' : 'ignore', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error('server did not become ready within 30 s');
      }
      try {
        if ((await fetch(`${url}/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return new ServerProcess(child, url, performance.now() - started);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** CPU time (user + system) the server has used so far, in seconds. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  /** Resident set size of the server process, in MiB. */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    // A process ended by a signal keeps exitCode null and sets signalCode instead.
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal);
    await exited;
  }
}

/** CPU time (user + system) of a process, from /proc, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
