import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { linkedSignal } from '../src/chat/linked-signal.js';

describe('linked abort signals', () => {
  it('abort with the first input that does, keeping its reason', () => {
    const a = new AbortController();
    const b = new AbortController();
    const link = linkedSignal(a.signal, b.signal);
    expect(link.signal.aborted).toBe(false);
    const reason = new DOMException('too slow', 'TimeoutError');
    b.abort(reason);
    expect(link.signal.aborted).toBe(true);
    expect(link.signal.reason).toBe(reason);
    expect(linkedSignal(AbortSignal.abort('gone')).signal.reason).toBe('gone');
  });

  it('leave nothing on a long-lived input once disposed, however many calls linked to it', () => {
    const serverLifetime = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const call = new AbortController();
      linkedSignal(call.signal, serverLifetime.signal).dispose();
    }
    expect(getEventListeners(serverLifetime.signal, 'abort')).toHaveLength(0);
  });
});
