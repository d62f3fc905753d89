import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ReplyEvent, ReplyEventName, ReplyLog, ReplyWriter } from './reply-log.js';

/** Pieces are written together at most this often (a reply's producer never waits on Redis per piece). */
const FLUSH_MS = 20;
const FLUSH_PIECES = 64;
/** How long a reply may run at most before its stream expires anyway (a producer that died mid-reply). */
const LONGEST_REPLY_MS = 15 * 60_000;
/** Pieces kept per reply at most (a runaway reply cannot grow a stream without bound). */
const MAX_PIECES = 20_000;

const pointerKey = (sessionId: string) => `chatify:reply:${sessionId}`;
const streamKey = (sessionId: string, replyId: string) => `chatify:reply:${sessionId}:${replyId}`;

/**
 * Replies in Redis streams, one per reply (capped, expiring), so a client can attach on any
 * instance. `chatify:reply:{session}` names the session's latest reply; its events are entries with
 * ids 0-1, 0-2, … (the SSE ids), written in batches through one pipeline.
 */
export class RedisReplyLog implements ReplyLog {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  begin(sessionId: string): ReplyWriter {
    const replyId = randomUUID();
    const key = streamKey(sessionId, replyId);
    const buffer: ReplyEvent[] = [];
    let count = 0;
    let announced = false;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let written: Promise<unknown> = Promise.resolve();
    const flush = (final: boolean) => {
      clearTimeout(timer);
      timer = undefined;
      const batch = buffer.splice(0);
      const pipeline = this.redis.pipeline();
      if (!announced) pipeline.set(pointerKey(sessionId), replyId, 'PX', LONGEST_REPLY_MS + this.ttlMs);
      announced = true;
      for (const e of batch) pipeline.xadd(key, 'MAXLEN', '~', MAX_PIECES, `0-${e.id}`, 'e', e.event, 'd', JSON.stringify(e.data));
      const keep = final ? this.ttlMs : LONGEST_REPLY_MS + this.ttlMs;
      pipeline.pexpire(key, keep);
      if (final) pipeline.pexpire(pointerKey(sessionId), keep);
      // In order, one after the other; a failed write loses pieces for attachers, never the reply.
      written = written.then(() => pipeline.exec()).catch(() => undefined);
      return written;
    };
    const push = (event: ReplyEventName, data: unknown) => {
      if (finished) return;
      buffer.push({ id: ++count, event, data });
      if (buffer.length >= FLUSH_PIECES) void flush(false);
      else timer ??= setTimeout(() => void flush(false), FLUSH_MS);
    };
    return {
      delta: (text) => push('delta', { text }),
      finish: async (event, data) => {
        push(event, data);
        finished = true;
        await flush(true);
      },
    };
  }

  async attach(sessionId: string, after: number, signal: AbortSignal): Promise<AsyncIterable<ReplyEvent> | null> {
    const replyId = await this.redis.get(pointerKey(sessionId));
    if (!replyId) return null;
    const key = streamKey(sessionId, replyId);
    if ((await this.redis.exists(key)) === 0) return null;
    const redis = this.redis;
    return (async function* () {
      // A blocking read holds its connection: each attached client reads on one of its own.
      const reader = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: 1 });
      reader.on('error', () => undefined);
      const stop = () => reader.disconnect();
      signal.addEventListener('abort', stop, { once: true });
      try {
        let last = `0-${after}`;
        while (!signal.aborted) {
          const found = (await reader.xread('COUNT', 500, 'BLOCK', 2000, 'STREAMS', key, last).catch(() => null)) as
            | [string, [string, string[]][]][]
            | null;
          if (!found) {
            // Nothing new for a while: go on while the reply is still kept (a producer that died lets it expire).
            if (signal.aborted || (await redis.exists(key)) === 0) return;
            continue;
          }
          for (const [id, fields] of found[0]![1]) {
            last = id;
            const event: ReplyEvent = { id: Number(id.split('-')[1]), event: fields[1] as ReplyEventName, data: JSON.parse(fields[3]!) };
            yield event;
            if (event.event !== 'delta') return;
          }
        }
      } finally {
        signal.removeEventListener('abort', stop);
        reader.disconnect();
      }
    })();
  }

  close(): void {}
}
