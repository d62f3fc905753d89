/**
 * `node --import tsx bench/calibrate.ts`: what this machine can do at all, to read the benchmark
 * against. A bare node:http server answering a small JSON body, driven over loopback by undici
 * from a second process: the ceiling for any Node HTTP service here. No Chatify code involved.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

if (process.argv[2] === 'client') {
  const url = process.argv[3]!;
  const pool = new Pool(url, { connections: 64 });
  let done = 0;
  const end = performance.now() + 5000;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) {
        const res = await pool.request({ method: 'POST', path: '/', body: '{"message":"hello"}' });
        await res.body.text();
        done += 1;
      }
    }),
  );
  process.send!(done / 5);
  await pool.close();
  process.exit(0);
} else {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true,"response":"hi"}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = fork(new URL(import.meta.url), ['client', url], { execArgv: ['--import', 'tsx'] });
  const rate = await new Promise<number>((resolve) => client.once('message', (m) => resolve(m as number)));
  console.log(`bare node:http JSON server over loopback: ${Math.round(rate).toLocaleString('en')} requests/s`);
  server.close();
}
