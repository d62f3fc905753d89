import { describe, expect, it } from 'vitest';
import { Housekeeping } from '../src/chat/housekeeping.js';

describe('the housekeeping runner', () => {
  it('leaves no listener behind on its own lifetime signal, however many attempts and retries it runs', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const runner = new Housekeeping({ concurrency: 1, maxPending: 100, timeoutMs: 1000, retries: 15, retryDelayMs: 0 });
      let attempts = 0;
      runner.enqueue({
        kind: 'title',
        sessionId: 's',
        run: async () => {
          attempts += 1;
          throw new Error('model down');
        },
      });
      for (let i = 0; i < 30; i++) runner.enqueue({ kind: 'title', sessionId: `s${i}`, run: async () => undefined });
      await runner.idle();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(attempts).toBe(16);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
      await runner.drain(100);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('never runs the same job for one session twice at once: a copy waiting or running is skipped, not dropped', async () => {
    const finished: string[] = [];
    const runner = new Housekeeping(
      { concurrency: 2, maxPending: 10, timeoutMs: 1000, retries: 0, retryDelayMs: 0 },
      { finished: (kind, outcome) => finished.push(`${kind}:${outcome}`) },
    );
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let runs = 0;
    const job = (sessionId: string) => ({ kind: 'summary', sessionId, run: async () => void (runs += 1, await held) });
    expect(runner.enqueue(job('a'))).toBe(true);
    expect(runner.enqueue(job('a'))).toBe(false);
    expect(runner.enqueue(job('b'))).toBe(true);
    expect(runner.enqueue({ ...job('a'), kind: 'memory' })).toBe(true);
    release();
    await runner.idle();
    expect(runs).toBe(3);
    expect(finished.sort()).toEqual(['memory:ok', 'summary:ok', 'summary:ok']);
    // Once done, the same job may run again.
    expect(runner.enqueue(job('a'))).toBe(true);
    await runner.idle();
    expect(runs).toBe(4);
    await runner.drain(100);
  });
});
