import { describe, expect, it } from 'vitest';
import { consecutiveMessages, HOLE_GRACE_MS } from '../src/people/message-holes.js';
import type { ConnectionMessage } from '../src/people/types.js';

const NOW = Date.parse('2026-05-01T12:00:00.000Z');
const message = (seq: number, ageMs = 0): ConnectionMessage => ({
  id: `m${seq}`,
  connectionId: 'c',
  seq,
  senderId: 'ann',
  content: `#${seq}`,
  timestamp: new Date(NOW - ageMs).toISOString(),
});
const seqs = (result: { messages: ConnectionMessage[] }) => result.messages.map((m) => m.seq);

describe('consecutiveMessages: what a reader catching up may hand out', () => {
  it('hands out a run without holes', () => {
    expect(seqs(consecutiveMessages([message(3), message(4), message(5)], 2, NOW))).toEqual([3, 4, 5]);
  });

  it('stops before a hole whose write may still land, and says it is waiting', () => {
    const result = consecutiveMessages([message(3), message(5), message(6)], 2, NOW);
    expect(seqs(result)).toEqual([3]);
    expect(result.waiting).toBe(true);
    expect(seqs(consecutiveMessages([message(5)], 3, NOW))).toEqual([]);
  });

  it('steps over a hole once the message after it is older than the grace period (a lost write)', () => {
    const result = consecutiveMessages([message(3, HOLE_GRACE_MS + 1), message(5, HOLE_GRACE_MS + 1), message(6)], 2, NOW);
    expect(seqs(result)).toEqual([3, 5, 6]);
    expect(result.waiting).toBe(false);
  });
});
