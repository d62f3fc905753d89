import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The client asked for Server-Sent Events: `Accept: text/event-stream` or `?stream=true`. */
export function wantsEventStream(request: FastifyRequest, streamParam: boolean | undefined): boolean {
  return streamParam === true || (request.headers.accept ?? '').includes('text/event-stream');
}

/**
 * A Server-Sent Events response body. Each event is written to the socket at once (no buffering);
 * events sent after the client went away are dropped, the work behind them carries on.
 */
export class EventStream {
  readonly #body = new PassThrough();

  /** Starts the response: status 200, SSE headers, the stream as body. */
  begin(reply: FastifyReply): FastifyReply {
    return reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache, no-transform')
      .header('x-accel-buffering', 'no')
      .send(this.#body);
  }

  send(event: string, data: unknown): void {
    if (this.#body.destroyed || this.#body.writableEnded) return;
    this.#body.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (!this.#body.destroyed && !this.#body.writableEnded) this.#body.end();
  }
}
