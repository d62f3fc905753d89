import { Type, type Static } from 'typebox';
import type { Connection as ConnectionData, ConnectionMessage as MessageData, ConnectionSummary } from '../../people/types.js';
import { readUpToOf, unreadCountOf } from '../../people/types.js';
import { MAX_SEQ, Timestamp, UserId } from './common.js';

export const ConnectionParams = Type.Object({ id: Type.String({ description: 'The connection id (a UUID)' }) });

export const CreateConnectionBody = Type.Object(
  {
    user1_id: Type.Optional(UserId),
    user2_id: UserId,
  },
  {
    additionalProperties: false,
    description: 'With sign-in, user1_id may be left out: it is the signed-in user (one of the two must be).',
  },
);

const connectionFields = {
  id: Type.String({ format: 'uuid' }),
  users: Type.Array(Type.String(), { minItems: 2, maxItems: 2, description: '[user1_id, user2_id]' }),
  user1_id: Type.String(),
  user2_id: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('ended')]),
  created_at: Timestamp,
  ended_at: Type.Union([Timestamp, Type.Null()]),
  last_activity: Timestamp,
  last_seq: Type.Integer({ description: 'The newest message’s seq; 0 before the first' }),
};
export const Connection = Type.Object(connectionFields, { $id: 'Connection' });

export const Message = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    connection_id: Type.String({ format: 'uuid' }),
    seq: Type.Integer({ minimum: 1, description: 'Position in the connection, from 1, without gaps' }),
    sender_id: Type.String(),
    content: Type.String(),
    timestamp: Timestamp,
  },
  { $id: 'ConnectionMessage' },
);

export const ConnectionListItem = Type.Object({
  ...connectionFields,
  last_message: Type.Union([Type.Ref('ConnectionMessage'), Type.Null()]),
  unread_count: Type.Integer({ description: 'Messages after read_up_to (messages one sends count as read)' }),
  read_up_to: Type.Integer(),
});

export const ConnectionListQuery = Type.Object({
  user_id: Type.Optional(UserId),
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('ended')])),
  cursor: Type.Optional(
    Type.String({ maxLength: 400, description: 'The X-Next-Cursor header of the previous page: the page after it' }),
  ),
});

export const ViewerQuery = Type.Object({
  user_id: Type.Optional(UserId),
});

export const SendBody = Type.Object(
  {
    sender_id: Type.Optional(UserId),
    content: Type.String({ minLength: 1, description: 'The text; at most PEOPLE_MAX_MESSAGE_LENGTH characters' }),
  },
  { additionalProperties: false },
);

export const MessagesQuery = Type.Object({
  user_id: Type.Optional(UserId),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SEQ, description: 'Only messages with seq above this, oldest first' })),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEQ, description: 'Only messages with seq below this' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
});
export type MessagesQuery = Static<typeof MessagesQuery>;

export const ReadBody = Type.Object(
  {
    user_id: Type.Optional(UserId),
    up_to: Type.Integer({ minimum: 0, maximum: MAX_SEQ, description: 'The seq of the newest message read' }),
  },
  { additionalProperties: false },
);

export const ReadReply = Type.Object({
  connection_id: Type.String({ format: 'uuid' }),
  user_id: Type.String(),
  read_up_to: Type.Integer({ description: 'Never moves back: the larger of the old and the new position' }),
  unread_count: Type.Integer(),
});

export function connectionJson(connection: ConnectionData) {
  return {
    id: connection.id,
    users: [connection.user1Id, connection.user2Id],
    user1_id: connection.user1Id,
    user2_id: connection.user2Id,
    status: connection.status,
    created_at: connection.createdAt,
    ended_at: connection.endedAt,
    last_activity: connection.lastActivity,
    last_seq: connection.lastSeq,
  };
}

export function messageJson(message: MessageData) {
  return {
    id: message.id,
    connection_id: message.connectionId,
    seq: message.seq,
    sender_id: message.senderId,
    content: message.content,
    timestamp: message.timestamp,
  };
}

/** A connection as it appears in `userId`'s list: with their unread count and read position. */
export function listItemJson({ connection, lastMessage }: ConnectionSummary, userId: string) {
  return {
    ...connectionJson(connection),
    last_message: lastMessage ? messageJson(lastMessage) : null,
    unread_count: unreadCountOf(connection, userId),
    read_up_to: readUpToOf(connection, userId),
  };
}
