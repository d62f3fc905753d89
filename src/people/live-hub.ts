import type { Connection, ConnectionMessage } from './types.js';

/** What a live socket hears about its user's connections. */
export type LiveEvent =
  | { type: 'message'; connectionId: string; message: ConnectionMessage }
  | { type: 'typing'; connectionId: string; userId: string }
  | { type: 'read'; connectionId: string; userId: string; upTo: number }
  | { type: 'connection'; connection: Connection };

export type LiveListener = (event: LiveEvent) => void;

/**
 * Delivers events to the live sockets of a user, on this instance or (through Redis) any other.
 * Delivery is best effort: sockets detect a missed message by its sequence number and read it from
 * the store.
 */
export interface LiveHub {
  /** Sends an event to every live socket of `userId`; resolves to whether any instance has one. */
  publish(userId: string, event: LiveEvent): Promise<boolean>;
  /**
   * Listens for `userId`'s events; resolves once events published from now on will arrive.
   * `onMissed` is called when events may have been lost (the hub's link was down and is back):
   * the listener should read what it needs from the store.
   */
  subscribe(userId: string, listener: LiveListener, onMissed?: () => void): Promise<() => void>;
}
