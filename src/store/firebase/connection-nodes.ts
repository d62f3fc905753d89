import type { Connection, ConnectionMessage, ConnectionStatus, PushTarget } from '../../people/types.js';

/** How user-to-user chat is laid out in Firebase (see firebase-connections.ts), and back. */

/** connections/{id}: the metadata only, so transactions on it stay small whatever the history length. */
export interface ConnectionNode {
  connectionId: string;
  user1Id: string;
  user2Id: string;
  status: ConnectionStatus;
  createdAt: string;
  endedAt?: string;
  lastActivity: string;
  lastSeq: number;
  user1ReadUpTo: number;
  user2ReadUpTo: number;
}

/** connectionMessages/{connection}/{zero-padded seq} */
export interface MessageNode {
  id: string;
  senderId: string;
  content: string;
  timestamp: string;
}

/** pushTargets/{user}/{id}: the raw id is kept because the key is encoded. */
export interface PushTargetNode {
  id: string;
  target: PushTarget;
  createdAt: string;
}

/** Code-unit order (ISO timestamps sort as times). */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function byActivityNewestFirst(a: Connection, b: Connection): number {
  return compare(b.lastActivity, a.lastActivity) || compare(b.id, a.id);
}

export function toNode(c: Connection): ConnectionNode {
  return {
    connectionId: c.id,
    user1Id: c.user1Id,
    user2Id: c.user2Id,
    status: c.status,
    createdAt: c.createdAt,
    ...(c.endedAt !== null ? { endedAt: c.endedAt } : {}),
    lastActivity: c.lastActivity,
    lastSeq: c.lastSeq,
    user1ReadUpTo: c.user1ReadUpTo,
    user2ReadUpTo: c.user2ReadUpTo,
  };
}

export function toConnection(id: string, node: ConnectionNode): Connection {
  return {
    id,
    user1Id: node.user1Id,
    user2Id: node.user2Id,
    status: node.status,
    createdAt: node.createdAt,
    endedAt: node.endedAt ?? null,
    lastActivity: node.lastActivity,
    lastSeq: node.lastSeq ?? 0,
    user1ReadUpTo: node.user1ReadUpTo ?? 0,
    user2ReadUpTo: node.user2ReadUpTo ?? 0,
  };
}

export function toMessageNode(m: ConnectionMessage): MessageNode {
  return { id: m.id, senderId: m.senderId, content: m.content, timestamp: m.timestamp };
}

export function toMessage(connectionId: string, seq: number, node: MessageNode): ConnectionMessage {
  return { connectionId, seq, id: node.id, senderId: node.senderId, content: node.content, timestamp: node.timestamp };
}
