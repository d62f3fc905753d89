import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requestLogFields } from './request-log.js';

/** The client asked for Server-Sent Events: `Accept: text/event-stream` or `?stream=true`. */
export function wantsEventStream(request: FastifyRequest, streamParam: boolean | undefined): boolean {
  return streamParam === true || (request.headers.accept ?? '').includes('text/event-stream');
}

/**
 * A Server-Sent Events response written straight to the socket: each event goes out as soon as it
 * is sent (no buffering, no stream plumbing in between). Events sent after the client went away are
 * dropped; the work behind them carries on.
 */
export class EventStream {
  readonly #raw: ServerResponse;
  readonly #started = performance.now();

  /** Takes the response over from Fastify and sends status 200 with SSE headers (CORS ones kept). */
  constructor(
    private readonly request: FastifyRequest,
    reply: FastifyReply,
  ) {
    reply.hijack();
    this.#raw = reply.raw;
    this.#raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    this.#raw.flushHeaders();
  }

  /** One event; with `id`, an `id:` line a client can resume after (Last-Event-ID). */
  send(event: string, data: unknown, id?: number): void {
    if (this.#raw.destroyed || this.#raw.writableEnded) return;
    this.#raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Whether the client has gone away (what is sent after that is dropped). */
  get closed(): boolean {
    return this.#raw.destroyed || this.#raw.writableEnded;
  }

  end(): void {
    if (!this.#raw.destroyed && !this.#raw.writableEnded) this.#raw.end();
    // Fastify does not log hijacked replies; keep the one line per request.
    this.request.log.info({ ...requestLogFields(this.request, 200, performance.now() - this.#started), stream: true }, 'request');
  }
}
