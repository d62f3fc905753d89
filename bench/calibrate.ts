/**
 * What this machine can do at all, to read the benchmark against: a bare node:http server
 * answering a small JSON body, driven over loopback by undici from a second process for 5 s. The
 * ceiling for any Node HTTP service here; no Chatify code involved. `npm run bench` reports it with
 * every run (shared machines change speed from hour to hour); on its own:
 * `node --import tsx bench/calibrate.ts`.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';

/** Requests per second the bare server answers. */
export async function bareServerRate(): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true,"response":"hi"}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = fork(new URL(import.meta.url), ['client', url], { execArgv: ['--import', 'tsx'] });
    return await new Promise<number>((resolve) => client.once('message', (m) => resolve(m as number)));
  } finally {
    server.close();
  }
}

async function drive(url: string): Promise<number> {
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
  await pool.close();
  return done / 5;
}

if (process.argv[2] === 'client') {
  process.send!(await drive(process.argv[3]!));
  process.exit(0);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`bare node:http JSON server over loopback: ${Math.round(await bareServerRate()).toLocaleString('en')} requests/s`);
}
