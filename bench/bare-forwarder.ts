/**
 * The floor of the overhead measurements: a bare node:http server that does only what any chat
 * backend must (take the message, call the model over HTTP, answer), with no framework, storage,
 * validation or bookkeeping. Run under the same load as Chatify, the "overhead" it shows is what
 * the harness and this machine add by themselves. Started by bench/run.ts (scenario "floor").
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

// No cap on connections: a capped pool would queue requests and measure itself.
const model = new Pool(process.argv[2]!);

const bodyOf = async (request: IncomingMessage): Promise<string> => {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text;
};

const server = createServer(async (request, response) => {
  const url = request.url ?? '/';
  if (request.method !== 'POST' || !url.includes('/message')) {
    request.resume();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, session_id: randomUUID() }));
    return;
  }
  const { message } = JSON.parse(await bodyOf(request)) as { message: string };
  const stream = url.includes('stream=true') || (request.headers.accept ?? '').includes('text/event-stream');
  const answer = await model.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'bare', stream, messages: [{ role: 'user', content: message }] }),
  });
  if (!stream) {
    const completion = (await answer.body.json()) as { choices: { message: { content: string } }[] };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ success: true, response: completion.choices[0]!.message.content }));
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  let pending = '';
  for await (const chunk of answer.body) {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('data: {')) continue;
      const text = (JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta?.content;
      if (text) response.write(`event: delta\ndata: ${JSON.stringify({ text })}\n\n`);
    }
  }
  response.end('event: done\ndata: {"success":true}\n\n');
});

server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});
