import { describe, expect, it } from 'vitest';
import { LocalReplyLog } from '../src/coordination/local-reply-log.js';

const collect = async (events: AsyncIterable<{ id: number; event: string }> | null) => {
  if (!events) return null;
  const out: [number, string][] = [];
  for await (const e of events) out.push([e.id, e.event]);
  return out;
};

describe('replies kept in one instance', () => {
  it('keeps at most maxKept finished replies, dropping the oldest first but never one still running', async () => {
    const log = new LocalReplyLog(60_000, 2);
    const signal = new AbortController().signal;
    const running = log.begin('running');
    running.delta('still going');
    for (const id of ['a', 'b']) {
      const writer = log.begin(id);
      writer.delta('hi');
      await writer.finish('done', { ok: true });
    }
    // Three kept, two allowed: the oldest finished one goes, the running one stays.
    expect(await log.attach('a', 0, signal)).toBeNull();
    expect(await collect(await log.attach('b', 0, signal))).toEqual([[1, 'delta'], [2, 'done']]);
    await running.finish('error', { code: 'provider_error' });
    expect(await collect(await log.attach('running', 1, signal))).toEqual([[2, 'error']]);
    log.close();
  });
});
