import { createDecipheriv, createHmac, type ECDH } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { PushTargetDirectory } from '../../src/notify/push-content.js';
import type { Notification } from '../../src/people/notifier.js';
import type { StoredPushTarget } from '../../src/people/types.js';

/**
 * A self-signed certificate for 127.0.0.1 and localhost, valid 2000–2124, for a local "push service"
 * (web-push only speaks https). Test-only: this key protects nothing.
 */
export const TEST_TLS = {
  key: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1x/7f0BTYCyOqKEg
tgT8eMxrAOu2qaisMt6jP1pyZ/mhRANCAATqsMjqXhjaQ6QH6+Uj90sKbWLq7Zxz
QYE78X6v5MS8P0NXVDVWWKOwyVmtLD6gIo3yWnW9VRGw/9XdchSOwF40
-----END PRIVATE KEY-----
`,
  cert: `-----BEGIN CERTIFICATE-----
MIIBaDCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEyNDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOqwyOpeGNpDpAfr
5SP3SwptYurtnHNBgTvxfq/kxLw/Q1dUNVZYo7DJWa0sPqAijfJadb1VEbD/1d1y
FI7AXjSjTjBMMA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYIJbG9jYWxob3N0
hwR/AAABMB0GA1UdDgQWBBRh+OpbWjk71TSHG2Ok8Hvz9m+9EDAKBggqhkjOPQQD
AgNJADBGAiEAluUTriVtSzNhmV3OMQgN4y8iu+xW6UmeC18wHQSYBxkCIQDWUxLW
JsD5NBsksuQ3DXcxRVRE/x290f8inRNHYL3TZw==
-----END CERTIFICATE-----
`,
};

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

/** What the server answers to the n-th request (from 0); the default is 200. */
export type Responder = (index: number, request: ReceivedRequest, response: ServerResponse) => void;

/** A real local HTTP(S) server that records every request and answers as the test says. */
export class RecordingServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    /** Every request so far, in arrival order. */
    readonly requests: ReceivedRequest[],
  ) {}

  static async start(respond: Responder = (_i, _r, res) => res.end(), options: { tls?: boolean } = {}): Promise<RecordingServer> {
    const requests: ReceivedRequest[] = [];
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
        requests.push(received);
        respond(requests.length - 1, received, res);
      });
    };
    const server = options.tls ? createHttpsServer(TEST_TLS, handler) : createHttpServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new RecordingServer(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`, requests);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The two store methods push notifiers use, in memory. */
export class MemoryPushTargets implements PushTargetDirectory {
  readonly targets = new Map<string, StoredPushTarget>();
  readonly removed: string[] = [];

  constructor(initial: StoredPushTarget[] = []) {
    for (const target of initial) this.targets.set(`${target.userId}/${target.id}`, target);
  }

  async listPushTargets(userId: string): Promise<StoredPushTarget[]> {
    return [...this.targets.values()].filter((t) => t.userId === userId);
  }

  async removePushTarget(userId: string, id: string): Promise<boolean> {
    this.removed.push(id);
    return this.targets.delete(`${userId}/${id}`);
  }
}

export interface LogEntry {
  obj: object;
  msg: string;
}

export function recordingLog(): { entries: LogEntry[]; warn(obj: object, msg: string): void } {
  const entries: LogEntry[] = [];
  return { entries, warn: (obj, msg) => entries.push({ obj, msg }) };
}

export function aNotification(overrides: Partial<Notification> = {}): Notification {
  return {
    recipientId: 'bob',
    connectionId: 'c0ffee00-0000-4000-8000-000000000001',
    senderId: 'alice',
    messageId: 'm-1',
    seq: 7,
    timestamp: '2026-01-02T03:04:05.000Z',
    text: 'Are we still on for lunch?',
    unreadCount: 3,
    ...overrides,
  };
}

/**
 * Decrypts a Web Push body (RFC 8291, aes128gcm in one record) with the subscriber's keys: proof
 * that what went out is readable by the browser the subscription belongs to.
 */
export function decryptWebPush(body: Buffer, subscriber: ECDH, authSecret: Buffer): string {
  const salt = body.subarray(0, 16);
  const idLength = body.readUInt8(20);
  const senderPublicKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  const hmac = (key: Buffer, ...data: Buffer[]) => {
    const h = createHmac('sha256', key);
    for (const d of data) h.update(d);
    return h.digest();
  };
  const ecdhSecret = subscriber.computeSecret(senderPublicKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), subscriber.getPublicKey(), senderPublicKey]);
  const ikm = hmac(hmac(authSecret, ecdhSecret), keyInfo, Buffer.from([1]));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0'), Buffer.from([1])).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0'), Buffer.from([1])).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then zero padding.
  const end = padded.lastIndexOf(2);
  return padded.subarray(0, end).toString('utf8');
}
