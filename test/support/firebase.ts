import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from './server-process.js';

const BIN = fileURLToPath(new URL('../../node_modules/.bin/firebase-server', import.meta.url));

/**
 * A real Firebase Realtime Database server in Node (the firebase-server package), for tests:
 * firebase-admin reaches it through FIREBASE_DATABASE_EMULATOR_HOST.
 */
export class FirebaseServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<FirebaseServer> {
    const port = await freePort();
    const child = spawn(BIN, ['-p', String(port), '-a', '127.0.0.1', '-n', `127.0.0.1:${port}`, '-s', 'owner'], { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => (exited = true));
    // Loading it takes seconds on a busy machine (suites run in parallel): wait up to 20 s, unless it dies.
    const deadline = Date.now() + 20_000;
    while (!exited && Date.now() < deadline) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (open) return new FirebaseServer(child, port);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill();
    throw new Error('firebase-server did not start');
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** A database URL with its own namespace, so runs never share data. */
  databaseUrl(namespace: string): string {
    return `http://127.0.0.1:${this.port}?ns=${namespace}`;
  }

  stop(): void {
    this.child.kill();
  }
}
