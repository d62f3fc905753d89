import { describe, expect, it } from 'vitest';
import { CallDeadline } from '../src/llm/call-deadline.js';

describe('a model call deadline', () => {
  it('ends a little before LLM_DEADLINE_MS, so a 504 beats a proxy that waits as long (default 60 s: at 59.5 s)', () => {
    const deadline = new CallDeadline(60_000, undefined);
    try {
      const left = deadline.attemptTimeout(Number.MAX_SAFE_INTEGER);
      // The deadline itself cuts the attempt; the attempt's own timer is set 100 ms after it.
      expect(left).toBeGreaterThan(59_000);
      expect(left).toBeLessThanOrEqual(59_600);
    } finally {
      deadline.dispose();
    }
  });

  it('counts from when the message arrived, in whole milliseconds for the SDK', () => {
    const deadline = new CallDeadline(60_000, undefined, 20_000.25);
    try {
      expect(Number.isInteger(deadline.attemptTimeout(Number.MAX_SAFE_INTEGER))).toBe(true);
      expect(deadline.attemptTimeout(Number.MAX_SAFE_INTEGER)).toBeLessThanOrEqual(39_600);
      expect(deadline.attemptTimeout(30_000)).toBe(30_000);
    } finally {
      deadline.dispose();
    }
  });

  it('has passed at once for a message that waited longer than the deadline', async () => {
    const deadline = new CallDeadline(1000, undefined, 5000);
    await expect(deadline.race(new Promise(() => undefined))).rejects.toThrow(/deadline/);
    deadline.dispose();
  });
});

describe('a failure as the deadline passes', () => {
  it('is a timeout when it came once the deadline was up, and stays itself before it or once the reply streams', async () => {
    const late = new CallDeadline(30, undefined);
    const cutShort = new Promise((_, reject) => setTimeout(() => reject(new Error('socket closed')), 60));
    // The timer's abort and the attempt's own failure race; either way the answer is a timeout.
    await expect(late.race(cutShort)).rejects.toMatchObject({ failure: 'timeout' });
    late.dispose();

    const early = new CallDeadline(10_000, undefined);
    await expect(early.race(Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    early.dispose();

    const streaming = new CallDeadline(50, undefined);
    streaming.lift();
    const broke = new Promise((_, reject) => setTimeout(() => reject(new Error('stream broke')), 80));
    await expect(streaming.race(broke)).rejects.toThrow('stream broke');
    streaming.dispose();
  });
});
