import type { ConnectionJson, ConnectionMessageJson, ConnectionSummaryJson } from '../../src/client/chatify-client.js';

/**
 * Pure updates of the People page's state. Everything here is idempotent, because the same fact can
 * arrive twice (over HTTP and on the live socket, or again after a reconnect).
 */

export type Conversation = ConnectionSummaryJson;

/** Unread messages: everything after this user's read position. */
export const unreadOf = (c: Conversation): number => Math.max(0, c.last_seq - c.read_up_to);

export const otherUserOf = (c: ConnectionJson, me: string): string => (c.user1_id === me ? c.user2_id : c.user1_id);

const byActivity = (a: Conversation, b: Conversation) =>
  b.last_activity.localeCompare(a.last_activity) || b.created_at.localeCompare(a.created_at);

/** Two views of one conversation, combined: positions only move forward, and ended stays ended. */
function combine(known: Conversation, fresh: Conversation): Conversation {
  const newer = fresh.last_seq >= known.last_seq ? fresh : known;
  const ended = known.status === 'ended' ? known : fresh.status === 'ended' ? fresh : null;
  const last_message =
    (fresh.last_message?.seq ?? 0) >= (known.last_message?.seq ?? 0) ? fresh.last_message : known.last_message;
  return {
    ...newer,
    status: ended ? 'ended' : newer.status,
    ended_at: ended?.ended_at ?? newer.ended_at,
    last_message,
    read_up_to: Math.max(known.read_up_to, fresh.read_up_to),
    unread_count: 0,
  };
}

const withUnread = (c: Conversation): Conversation => ({ ...c, unread_count: unreadOf(c) });

/** The list as the server sent it, keeping what arrived live while the request was under way. */
export function mergeList(known: Conversation[], fresh: Conversation[]): Conversation[] {
  const byId = new Map(known.map((c) => [c.id, c]));
  const merged = fresh.map((c) => {
    const k = byId.get(c.id);
    byId.delete(c.id);
    return withUnread(k ? combine(k, c) : c);
  });
  return [...merged, ...byId.values()].sort(byActivity);
}

/** A connection created or ended (from the socket or our own request). */
export function upsertConnection(list: Conversation[], connection: ConnectionJson, me: string): Conversation[] {
  const known = list.find((c) => c.id === connection.id);
  const fresh: Conversation = {
    ...connection,
    last_message: null,
    read_up_to: known?.read_up_to ?? 0,
    unread_count: 0,
  };
  // A connection we have never seen, created by us: nothing in it is unread for us yet.
  if (!known && connection.user1_id === me) fresh.read_up_to = connection.last_seq;
  return mergeList(list, [fresh]);
}

/** A message arrived: the conversation moves to the top; our own messages are read by definition. */
export function applyMessage(list: Conversation[], message: ConnectionMessageJson, me: string): Conversation[] {
  return list
    .map((c) => {
      if (c.id !== message.connection_id) return c;
      const newest = message.seq >= c.last_seq;
      return withUnread({
        ...c,
        last_seq: Math.max(c.last_seq, message.seq),
        last_activity: newest ? message.timestamp : c.last_activity,
        last_message: newest ? message : c.last_message,
        read_up_to: message.sender_id === me ? Math.max(c.read_up_to, message.seq) : c.read_up_to,
      });
    })
    .sort(byActivity);
}

/** This user has read up to `upTo` (here or in another tab). */
export function applyRead(list: Conversation[], connectionId: string, upTo: number): Conversation[] {
  return list.map((c) => (c.id === connectionId && upTo > c.read_up_to ? withUnread({ ...c, read_up_to: upTo }) : c));
}

/** Messages in seq order, each once. */
export function mergeMessages(known: ConnectionMessageJson[], more: ConnectionMessageJson[]): ConnectionMessageJson[] {
  if (more.length === 0) return known;
  const bySeq = new Map(known.map((m) => [m.seq, m]));
  for (const m of more) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** A random idempotency key (crypto.randomUUID needs a secure context; getRandomValues does not). */
export function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
