/**
 * Slow-loris clients, run as a process of their own (so their sockets neither share the test's event
 * loop nor count against its file descriptors): `node --import tsx test/support/slow-clients.ts
 * <host> <port> <count> <give up after ms>`. Each socket sends a request's headers one byte per
 * second, never finishing them, and keeps sending after the server's FIN, as an attacker would.
 * Prints one JSON line when every socket is connected ({"connected": n}) and one when every socket is
 * closed or time is up ({"endMs": [...], "closeMs": [...]}: per socket, from its connect to the
 * server's FIN and to the socket's close, null when it did not happen).
 */
import { connect, type Socket } from 'node:net';

const [host = '127.0.0.1', portText = '0', countText = '1000', giveUpText = '30000'] = process.argv.slice(2);
const count = Number(countText);

interface Tracked {
  socket: Socket;
  connectedAt: number;
  endMs: number | null;
  closeMs: number | null;
  sent: number;
}

const HEADERS = `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `;
const byteAt = (index: number): string => (index < HEADERS.length ? HEADERS[index]! : 'a');

function open(): Promise<Tracked> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(portText), allowHalfOpen: true });
    const tracked: Tracked = { socket, connectedAt: 0, endMs: null, closeMs: null, sent: 0 };
    socket.once('connect', () => {
      tracked.connectedAt = performance.now();
      resolve(tracked);
    });
    // Writes after the server closed the socket fail: expected, the close is what is measured.
    socket.on('error', (error) => {
      if (tracked.connectedAt === 0) reject(error);
    });
    socket.on('data', () => undefined);
    socket.once('end', () => (tracked.endMs = performance.now() - tracked.connectedAt));
    socket.once('close', () => {
      tracked.closeMs = performance.now() - tracked.connectedAt;
      tracked.endMs ??= tracked.closeMs;
    });
  });
}

const sockets: Tracked[] = [];
for (let i = 0; i < count; i += 100) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, open))));
}
console.log(JSON.stringify({ connected: sockets.length }));

const giveUpAt = performance.now() + Number(giveUpText);
await new Promise<void>((resolve) => {
  const trickle = setInterval(() => {
    for (const tracked of sockets) {
      if (!tracked.socket.destroyed) tracked.socket.write(byteAt(tracked.sent++));
    }
    if (sockets.every((tracked) => tracked.closeMs !== null) || performance.now() > giveUpAt) {
      clearInterval(trickle);
      resolve();
    }
  }, 1000);
  for (const tracked of sockets) tracked.socket.write(byteAt(tracked.sent++));
});
console.log(JSON.stringify({ endMs: sockets.map((t) => t.endMs), closeMs: sockets.map((t) => t.closeMs) }));
for (const tracked of sockets) tracked.socket.destroy();
