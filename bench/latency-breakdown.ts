/**
 * `node --import tsx bench/latency-breakdown.ts` (LLM_THREAD=false via T=false): where one streamed
 * message spends its time when nothing else runs. Client, server and a minimal fake model share this
 * process and clock; the model's own 5 ms wait is left out. Prints medians of 30 requests for:
 * client → llm.complete (the request path), complete → model arrival (SDK request), model's first
 * token → first delta on the event loop (SDK stream parsing, thread hop), delta → client.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatifyServer } from '../test/support/chatify-server.js';
import { ThreadedLlm } from '../src/llm/threaded-llm.js';
import { OpenAiLlm } from '../src/llm/openai-llm.js';
import type { Llm } from '../src/chat/llm.js';

// A minimal fake model: records arrival and first-token times on this thread's clock.
let arrival = 0, firstToken = 0;
const fake = createServer((req, res) => {
  arrival = performance.now();
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (content: string) => `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
    setTimeout(() => {
      firstToken = performance.now();
      res.write(chunk('Hello'));
      setTimeout(() => { res.write(chunk(' there')); res.end('data: [DONE]\n\n'); }, 5);
    }, 5);
  });
});
await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/v1`;
const opts = { apiKey: 'x', baseURL: url, timeoutMs: 5000, maxRetries: 0 };
const inner: Llm = process.env.T === 'false' ? new OpenAiLlm(opts) : new ThreadedLlm(opts);
let called = 0, firstDelta = 0;
const llm: Llm = {
  provider: 'openai',
  complete: (request) => {
    called = performance.now();
    let first = true;
    return inner.complete({ ...request, onDelta: (t) => { if (first) { first = false; firstDelta = performance.now(); } request.onDelta?.(t); } });
  },
};
const server = await ChatifyServer.start({}, { deps: { llm } });
const id = await server.createSession('probe');
const rows: number[][] = [];
for (let i = 0; i < 40; i++) {
  const t0 = performance.now();
  const res = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: `probe ${i}` }) });
  const tHeaders = performance.now();
  const reader = res.body!.getReader();
  let tFirst = 0;
  for (;;) { const { done, value } = await reader.read(); if (done) break; if (!tFirst && new TextDecoder().decode(value).includes('event: delta')) tFirst = performance.now(); }
  if (i >= 10) rows.push([called - t0, arrival - called, firstDelta - firstToken, tFirst - firstDelta, tHeaders - t0]);
}
const med = (k: number) => [...rows.map((r) => r[k]!)].sort((a, b) => a - b)[rows.length >> 1]!.toFixed(2);
console.log(`client→llm.complete ${med(0)} ms | complete→model arrival ${med(1)} | model first token→delta at main ${med(2)} | delta→client ${med(3)} | (headers at client ${med(4)})`);
await server.close(); fake.close(); await inner.close?.(); process.exit(0);
