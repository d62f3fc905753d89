import { spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { ChatifyServer, tempDir } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { LiveClient } from './support/live-client.js';
import { ServerProcess, withFdLimit } from './support/server-process.js';
import { readEvents } from './support/sse.js';

/** Sockets the process has open, read from /proc: what the server itself holds, whatever clients think. */
function openSockets(pid: number): number {
  const fds = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed while we looked
    }
  }
  return sockets;
}

/** A raw TCP client: what it received, and when (ms after connecting) the server closed the socket. */
async function rawClient(baseUrl: string): Promise<{ socket: Socket; received: () => string; ended: Promise<number> }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connectTcp({ host: hostname, port: Number(port) });
  await new Promise((resolve) => socket.once('connect', resolve));
  const connectedAt = performance.now();
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  socket.on('error', () => undefined);
  // Waits at most 10 s: a server that never cuts the socket fails the test rather than hanging it.
  const ended = new Promise<number>((resolve) => {
    const giveUp = setTimeout(() => {
      resolve(Infinity);
      socket.destroy();
    }, 10_000);
    socket.once('close', () => {
      clearTimeout(giveUp);
      resolve(performance.now() - connectedAt);
    });
  });
  return { socket, received: () => received, ended };
}

describe('slow and idle clients', () => {
  it('has the documented defaults, and refuses a headers timeout longer than the request timeout', () => {
    expect(loadConfig({}).http).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5000 });
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
  });

  it('cuts off 1,000 sockets that trickle their headers, and /health answers fast while they are open', async () => {
    const timeoutMs = 8000;
    // Both processes get room for the 1,000 sockets, whatever the machine's default limit (often 1,024).
    const server = await ServerProcess.start({
      entry: 'source',
      fdLimit: 4096,
      env: { LOG_LEVEL: 'silent', DATABASE_URL: `sqlite:${tempDir()}/chatify.db`, HTTP_HEADERS_TIMEOUT_MS: String(timeoutMs) },
    });
    try {
      const { hostname, port } = new URL(server.url);
      const before = openSockets(server.pid);
      const [command, args] = withFdLimit(4096, process.execPath, [
        '--import', 'tsx', 'test/support/slow-clients.ts', hostname, port, '1000', String(timeoutMs + 8000),
      ]);
      const clients = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = createInterface({ input: clients.stdout! })[Symbol.asyncIterator]();
      expect(JSON.parse((await lines.next()).value as string)).toEqual({ connected: 1000 });
      const connectedAt = performance.now();
      // Connected as far as the clients know; the server may still be accepting the last of them.
      while (openSockets(server.pid) < 1000 && performance.now() - connectedAt < 2000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(openSockets(server.pid)).toBeGreaterThan(1000);

      // /health, one request after another on one keep-alive socket, while every slow socket is open.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const latencies: number[] = [];
      while (performance.now() - connectedAt < timeoutMs / 2) {
        const started = performance.now();
        const status = await new Promise<number>((resolve, reject) => {
          httpRequest(`${server.url}/health`, { agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          }).on('error', reject).end();
        });
        expect(status).toBe(200);
        latencies.push(performance.now() - started);
      }
      agent.destroy();
      expect(openSockets(server.pid)).toBeGreaterThan(1000);
      latencies.sort((a, b) => a - b);
      expect(latencies.length).toBeGreaterThan(20);
      expect(latencies[Math.ceil(latencies.length * 0.99) - 1]).toBeLessThan(100);

      // The server closes every one of them itself: its own socket count falls back...
      while (openSockets(server.pid) > before && performance.now() - connectedAt < timeoutMs + 2000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(openSockets(server.pid)).toBeLessThanOrEqual(before);
      // ...and each client saw its socket ended within the timeout plus 2 s of connecting.
      const { endMs, closeMs } = JSON.parse((await lines.next()).value as string) as { endMs: (number | null)[]; closeMs: (number | null)[] };
      expect(endMs).toHaveLength(1000);
      expect(endMs.filter((ms) => ms === null || ms > timeoutMs + 2000)).toEqual([]);
      expect(closeMs.filter((ms) => ms === null)).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 60_000);

  describe('in one server', () => {
    let server: ChatifyServer;
    let model: FakeOpenAi;
    beforeAll(async () => {
      // Every token 100 ms apart: the reply streams for about 3 s, well past the request timeout.
      model = await FakeOpenAi.start({ tokenDelayMs: 100, reply: () => 'word '.repeat(30).trim() });
      server = await ChatifyServer.start(
        ChatifyServer.modelEnv(model.url, {
          HTTP_HEADERS_TIMEOUT_MS: '1000',
          HTTP_REQUEST_TIMEOUT_MS: '1500',
          HTTP_KEEPALIVE_TIMEOUT_MS: '1000',
        }),
      );
    });
    afterAll(async () => {
      await server.close();
      await model.close();
    });

    it('cuts off a socket that sends nothing within the headers timeout plus 2 s', async () => {
      const client = await rawClient(server.baseUrl);
      const closedAfter = await client.ended;
      expect(closedAfter).toBeGreaterThanOrEqual(900);
      expect(closedAfter).toBeLessThan(1000 + 2000);
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    });

    it('cuts off a body sent slowly within the request timeout plus 2 s, with 408 request_timeout', async () => {
      const client = await rawClient(server.baseUrl);
      const body = JSON.stringify({ user_id: 'slow_body', template_id: 'friendly-assistant' });
      client.socket.write(
        `POST /api/v1/chatbot/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      let sent = 0;
      const trickle = setInterval(() => client.socket.write(body[sent++] ?? ''), 200);
      const closedAfter = await client.ended;
      clearInterval(trickle);
      expect(sent).toBeLessThan(body.length);
      expect(closedAfter).toBeGreaterThanOrEqual(1400);
      expect(closedAfter).toBeLessThan(1500 + 2000);
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
      const answer = JSON.parse(client.received().split('\r\n\r\n')[1]!);
      expect(answer).toEqual({ success: false, error: { code: 'request_timeout', message: expect.any(String) }, detail: answer.error.message });
    });

    it('closes an idle keep-alive socket after the keep-alive timeout', async () => {
      const client = await rawClient(server.baseUrl);
      client.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      while (!client.received().includes('\r\n\r\n')) await new Promise((resolve) => setTimeout(resolve, 10));
      const answeredAt = performance.now();
      expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
      await client.ended;
      const idleFor = performance.now() - answeredAt;
      expect(idleFor).toBeGreaterThanOrEqual(900);
      expect(idleFor).toBeLessThan(1000 + 2000);
    });

    it('does not cut a streamed reply or a WebSocket that outlast the request timeout', async () => {
      const live = await LiveClient.connect(server.baseUrl, { user_id: 'long_lived' });
      const id = await server.createSession('user_streams_long');
      const started = performance.now();
      const response = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ message: 'Tell me something long' }),
      });
      const events = await readEvents(response);
      expect(performance.now() - started).toBeGreaterThan(1500 + 1000);
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { success: true, response: 'word '.repeat(30).trim() } });

      // The socket has been open for longer than the request timeout (and its checks): still answering.
      live.send({ type: 'ping' });
      await live.next((frame) => frame.type === 'pong');
      await live.close();
    });
  });
});
