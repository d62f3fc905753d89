import type { ConnectionListOptions, ConnectionStore } from '../people/connection-store.js';
import type { Connection, ConnectionMessage, ConnectionSummary, NewConnectionMessage, StoredPushTarget } from '../people/types.js';

/**
 * For a store whose user-to-user part lives in an object of its own (postgres-connections.ts,
 * firebase-connections.ts): the ConnectionStore methods, each handed to that object.
 */
export abstract class ConnectionStoreDelegate implements ConnectionStore {
  protected abstract readonly connections: ConnectionStore;

  createConnection(connection: Connection): Promise<{ connection: Connection; created: boolean }> {
    return this.connections.createConnection(connection);
  }

  getConnection(id: string): Promise<Connection | null> {
    return this.connections.getConnection(id);
  }

  listConnections(userId: string, options: ConnectionListOptions): Promise<ConnectionSummary[]> {
    return this.connections.listConnections(userId, options);
  }

  endConnection(id: string, endedAt: string): Promise<Connection | null> {
    return this.connections.endConnection(id, endedAt);
  }

  appendConnectionMessage(
    connectionId: string,
    message: NewConnectionMessage,
  ): Promise<{ message: ConnectionMessage; replayed: boolean } | null> {
    return this.connections.appendConnectionMessage(connectionId, message);
  }

  readConnectionMessages(
    connectionId: string,
    page: { limit: number; after?: number | undefined; before?: number | undefined },
  ): Promise<ConnectionMessage[]> {
    return this.connections.readConnectionMessages(connectionId, page);
  }

  markRead(connectionId: string, userId: string, upTo: number): Promise<Connection | null> {
    return this.connections.markRead(connectionId, userId, upTo);
  }

  putPushTarget(target: StoredPushTarget): Promise<void> {
    return this.connections.putPushTarget(target);
  }

  listPushTargets(userId: string): Promise<StoredPushTarget[]> {
    return this.connections.listPushTargets(userId);
  }

  removePushTarget(userId: string, id: string): Promise<boolean> {
    return this.connections.removePushTarget(userId, id);
  }
}
