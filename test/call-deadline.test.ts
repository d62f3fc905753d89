import { describe, expect, it } from 'vitest';
import { CallDeadline } from '../src/llm/call-deadline.js';

describe('a model call deadline', () => {
  it('ends a little before LLM_DEADLINE_MS, so a 504 beats a proxy that waits as long (default 60 s: at 59.5 s)', () => {
    const deadline = new CallDeadline(60_000, undefined);
    try {
      const left = deadline.attemptTimeout(Number.MAX_SAFE_INTEGER);
      expect(left).toBeGreaterThan(59_000);
      expect(left).toBeLessThanOrEqual(59_500);
    } finally {
      deadline.dispose();
    }
  });

  it('counts from when the message arrived', () => {
    const deadline = new CallDeadline(60_000, undefined, Date.now() - 20_000);
    try {
      expect(deadline.attemptTimeout(Number.MAX_SAFE_INTEGER)).toBeLessThanOrEqual(39_500);
      expect(deadline.attemptTimeout(30_000)).toBe(30_000);
    } finally {
      deadline.dispose();
    }
  });

  it('has passed at once for a message that waited longer than the deadline', async () => {
    const deadline = new CallDeadline(1000, undefined, Date.now() - 5000);
    await expect(deadline.race(new Promise(() => undefined))).rejects.toThrow(/deadline/);
    deadline.dispose();
  });
});
