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
});
