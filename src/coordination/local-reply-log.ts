import type { ReplyEvent, ReplyLog, ReplyWriter } from './reply-log.js';

interface Reply {
  events: ReplyEvent[];
  finished: boolean;
  /** Wakes the attached readers when an event arrives. */
  wake: Set<() => void>;
  expiry?: NodeJS.Timeout;
}

/**
 * One instance's replies, in memory: each kept for `ttlMs` after it finished, and at most `maxKept`
 * finished ones (the oldest go first), so a busy instance's memory stays bounded.
 */
export class LocalReplyLog implements ReplyLog {
  readonly #replies = new Map<string, Reply>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKept = 10_000,
  ) {}

  begin(sessionId: string): ReplyWriter {
    const previous = this.#replies.get(sessionId);
    if (previous) this.#drop(sessionId, previous);
    if (this.#replies.size >= this.maxKept) {
      // Oldest first (a Map keeps insertion order); replies still running are never dropped.
      for (const [id, reply] of this.#replies) {
        if (this.#replies.size < this.maxKept) break;
        if (reply.finished) this.#drop(id, reply);
      }
    }
    const reply: Reply = { events: [], finished: false, wake: new Set() };
    this.#replies.set(sessionId, reply);
    const push = (event: ReplyEvent['event'], data: unknown) => {
      if (reply.finished) return;
      reply.events.push({ id: reply.events.length + 1, event, data });
      for (const wake of [...reply.wake]) wake();
    };
    return {
      delta: (text) => push('delta', { text }),
      finish: async (event, data) => {
        push(event, data);
        reply.finished = true;
        reply.expiry = setTimeout(() => this.#replies.get(sessionId) === reply && this.#drop(sessionId, reply), this.ttlMs);
        reply.expiry.unref();
      },
    };
  }

  async attach(sessionId: string, after: number, signal: AbortSignal): Promise<AsyncIterable<ReplyEvent> | null> {
    const reply = this.#replies.get(sessionId);
    if (!reply) return null;
    return (async function* () {
      let next = after;
      while (!signal.aborted) {
        while (next < reply.events.length) {
          const event = reply.events[next]!;
          next += 1;
          yield event;
          if (event.event !== 'delta') return;
        }
        if (reply.finished) return;
        await new Promise<void>((resolve) => {
          const wake = () => {
            reply.wake.delete(wake);
            signal.removeEventListener('abort', wake);
            resolve();
          };
          reply.wake.add(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }
    })();
  }

  close(): void {
    for (const [sessionId, reply] of this.#replies) this.#drop(sessionId, reply);
  }

  #drop(sessionId: string, reply: Reply): void {
    clearTimeout(reply.expiry);
    this.#replies.delete(sessionId);
    reply.finished = true;
    for (const wake of [...reply.wake]) wake();
  }
}
