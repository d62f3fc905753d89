import { Readable } from 'node:stream';
import { Agent, request } from 'undici';

/**
 * A `fetch` for the OpenAI SDK on top of undici's request API: keep-alive connections and no
 * WHATWG stream plumbing for ordinary JSON answers, which more than halves the CPU a model call
 * costs compared with the global fetch. Streamed (SSE) answers are passed through as they arrive.
 */
export function createModelFetch(options: { connections?: number } = {}): typeof fetch {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: options.connections ?? null });

  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const response = await request(url, {
      dispatcher,
      method: (init?.method ?? 'GET') as 'GET',
      headers: toHeaderRecord(init?.headers),
      body: init?.body as string | undefined,
      signal: init?.signal ?? undefined,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const init_ = { status: response.statusCode, headers };
    if ((headers.get('content-type') ?? '').includes('text/event-stream')) {
      return new Response(Readable.toWeb(response.body) as ReadableStream<Uint8Array>, init_);
    }
    const body = response.statusCode === 204 || response.statusCode === 304 ? null : await response.body.arrayBuffer();
    return new Response(body, init_);
  };
}

function toHeaderRecord(headers: RequestInit['headers']): Record<string, string> {
  if (!headers) return {};
  if (headers instanceof Headers) return Object.fromEntries(headers.entries());
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return headers as Record<string, string>;
}
