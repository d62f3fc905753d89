import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisLiveHub } from '../src/coordination/redis-live-hub.js';

/** A subscriber connection whose first SUBSCRIBE fails, as one does during a Redis blip. */
class FlakySubscriber extends EventEmitter {
  readonly channels = new Set<string>();
  failNext = true;
  async subscribe(channel: string): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('Connection is closed.');
    }
    this.channels.add(channel);
    return this.channels.size;
  }
  async unsubscribe(channel: string): Promise<number> {
    this.channels.delete(channel);
    return this.channels.size;
  }
  async ping(): Promise<string> {
    return 'PONG';
  }
}

describe('RedisLiveHub bookkeeping', () => {
  it('subscribes again for the next socket when a SUBSCRIBE failed, even one that waited on it', async () => {
    const subscriber = new FlakySubscriber();
    const hub = new RedisLiveHub({} as Redis, subscriber as unknown as Redis);
    const first = hub.subscribe('ann', () => undefined);
    const second = hub.subscribe('ann', () => undefined); // arrives while the first SUBSCRIBE is in flight
    await expect(first).rejects.toThrow('closed');
    await expect(second).resolves.toBeTypeOf('function');
    expect(subscriber.channels.has('chatify:live:u:ann')).toBe(true);

    const heard: string[] = [];
    await hub.subscribe('ann', (event) => heard.push(event.type));
    subscriber.emit('message', 'chatify:live:u:ann', JSON.stringify({ type: 'typing', connectionId: 'c', userId: 'bob' }));
    expect(heard).toEqual(['typing']);
  });

  it('unsubscribes when the last listener of a channel leaves, and not before', async () => {
    const subscriber = new FlakySubscriber();
    subscriber.failNext = false;
    const hub = new RedisLiveHub({} as Redis, subscriber as unknown as Redis);
    const leaveA = await hub.subscribe('cy', () => undefined);
    const leaveB = await hub.subscribe('cy', () => undefined, { connectionId: '3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c' });
    const leaveC = await hub.subscribe('cy', () => undefined);
    expect([...subscriber.channels].sort()).toEqual(['chatify:live:c:3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c:cy', 'chatify:live:u:cy']);
    leaveA();
    leaveB();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([...subscriber.channels]).toEqual(['chatify:live:u:cy']);
    leaveC();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(subscriber.channels.size).toBe(0);
  });
});
