import type { Connection, ConnectionMessage } from './types.js';

/** What a live socket hears about its user's connections. */
export type LiveEvent =
  | { type: 'message'; connectionId: string; message: ConnectionMessage }
  | { type: 'typing'; connectionId: string; userId: string }
  | { type: 'read'; connectionId: string; userId: string; upTo: number }
  | { type: 'connection'; connection: Connection };

export type LiveListener = (event: LiveEvent) => void;

export interface SubscribeOptions {
  /** Only this connection's events: such a listener does not make its user "online" for the others. */
  connectionId?: string | undefined;
  /**
   * Called when events may have been lost (the hub's link was down and is back): the listener
   * should read what it needs from the store.
   */
  onMissed?: () => void;
}

export const eventConnectionId = (event: LiveEvent): string => (event.type === 'connection' ? event.connection.id : event.connectionId);

/**
 * Delivers events to the live sockets of a user, on this instance or (through Redis) any other.
 * Delivery is best effort: a socket that sees a message ahead of one it has not seen reads the gap
 * from the store, and after an outage `onMissed` says to catch up.
 */
export interface LiveHub {
  /**
   * Sends an event to every live socket of `userId` that shows it (all of the user's, or those
   * watching its connection); resolves to whether there was any, on any instance.
   */
  publish(userId: string, event: LiveEvent): Promise<boolean>;
  /** Listens for `userId`'s events; resolves once events published from now on will arrive. */
  subscribe(userId: string, listener: LiveListener, options?: SubscribeOptions): Promise<() => void>;
}

/** The name a subscription is kept under: a user's, or a user's in one connection (UUIDs have a fixed length). */
export function subscriptionKey(userId: string, connectionId?: string): string {
  return connectionId === undefined ? `u:${userId}` : `c:${connectionId}:${userId}`;
}

/** The subscriptions that hear `userId`'s event: all of the user's sockets, and those watching its connection. */
export const listeningKeys = (userId: string, event: LiveEvent): [string, string] => [
  subscriptionKey(userId),
  subscriptionKey(userId, eventConnectionId(event)),
];
