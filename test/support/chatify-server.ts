import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { buildApp, type AppDeps, type Chatify } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { NO_RATE_LIMITS } from './limits.js';

export { NO_RATE_LIMITS };

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}


/** The stores a server can run on, as `Store.kind` names them. */
export type StoreKind = 'sqlite' | 'postgres' | 'firebase';

/**
 * Extra environment for every server a test file starts (forEachStore points them at PostgreSQL or
 * Firebase), and the store they must then answer from: a server on any other store fails to start,
 * so a suite can never silently fall back to SQLite.
 */
let storeEnv: Record<string, string> = {};
let storeKind: StoreKind | undefined;
export function useStoreEnv(env: Record<string, string>, kind?: StoreKind): void {
  storeEnv = env;
  storeKind = kind;
}

/** Whether an environment names a store of its own (DATABASE_URL wins over FIREBASE_DATABASE_URL in config). */
const namesStore = (env: Record<string, string>) => Boolean(env['DATABASE_URL'] || env['FIREBASE_DATABASE_URL']);

/** A real Chatify server on a loopback port, with a real SQLite file (or the store useStoreEnv names). */
export class ChatifyServer {
  private constructor(
    readonly chatify: Chatify,
    readonly baseUrl: string,
    readonly databasePath: string,
  ) {}

  /**
   * Starts a server. `env` is the environment it sees (on top of quiet test defaults); pass
   * `databasePath` to reopen an existing database file, `host` to listen elsewhere than 127.0.0.1.
   */
  static async start(env: Record<string, string> = {}, options: { databasePath?: string; deps?: AppDeps; host?: string } = {}) {
    const databasePath = options.databasePath ?? join(tempDir(), 'chatify.db');
    const chatify = await buildApp(ChatifyServer.config(env, databasePath), options.deps);
    const expected = namesStore(env) || options.deps?.store ? undefined : storeKind;
    if (expected !== undefined && chatify.store.kind !== expected) {
      await chatify.app.close();
      throw new Error(`The server was to run on ${expected} but answers from ${chatify.store.kind}`);
    }
    const host = options.host ?? '127.0.0.1';
    await chatify.app.listen({ port: 0, host });
    const { port } = chatify.app.server.address() as AddressInfo;
    return new ChatifyServer(chatify, `http://${host}:${port}`, databasePath);
  }

  /** The configuration a server gets: quiet test defaults, the suite's store, then `env`. */
  static config(env: Record<string, string> = {}, databasePath = join(tempDir(), 'chatify.db')): Config {
    // The SQLite file is only the default: it must not win over the store the suite or the test names.
    const sqlite = namesStore(storeEnv) || namesStore(env) ? {} : { DATABASE_URL: `sqlite:${databasePath}` };
    return loadConfig({ LOG_LEVEL: 'silent', ...sqlite, ...NO_RATE_LIMITS, ...storeEnv, ...env });
  }

  /** Environment for a server that talks to the given fake model. */
  static modelEnv(modelUrl: string, extra: Record<string, string> = {}): Record<string, string> {
    return { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: modelUrl, LLM_MAX_RETRIES: '0', LLM_TIMEOUT_MS: '5000', ...extra };
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get = <T = any>(path: string) => this.request<T>('GET', path);
  post = <T = any>(path: string, body?: unknown) => this.request<T>('POST', path, body);
  put = <T = any>(path: string, body?: unknown) => this.request<T>('PUT', path, body);
  del = <T = any>(path: string) => this.request<T>('DELETE', path);

  /** Creates a session and returns its id. */
  async createSession(userId = 'user_12345', templateId?: string): Promise<string> {
    const res = await this.post('/api/v1/chatbot/session', { user_id: userId, template_id: templateId });
    if (res.status !== 200) throw new Error(`create session: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.session_id as string;
  }

  send(sessionId: string, message: string) {
    return this.post(`/api/v1/chatbot/session/${sessionId}/message`, { message });
  }

  async close(): Promise<void> {
    await this.chatify.app.close();
  }
}

/** Every row of every table, as text: equal dumps mean an unchanged database. */
export function dumpDatabase(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
    return tables
      .map(({ name }) => `${name}: ${JSON.stringify(db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).all())}`)
      .join('\n');
  } finally {
    db.close();
  }
}

const dirs: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chatify-test-'));
  dirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
