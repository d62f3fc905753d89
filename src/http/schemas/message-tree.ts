import { Type } from 'typebox';
import { MAX_SEQ, Timestamp } from './common.js';
import { MessageId, SendMessageBody } from './chatbot.js';

export const MessageParams = Type.Object({
  id: Type.String({ description: 'The session id (a UUID)' }),
  message_id: Type.String({ description: "A message's id, as conversation_history and the tree give it" }),
});

export const RegenerateBody = Type.Union(
  [
    Type.Object(
      {
        message_id: Type.Optional(
          Type.String({ ...MessageId, description: 'A reply on the active path; by default the last one' }),
        ),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ],
  { description: 'Optional: which reply to regenerate' },
);

export const EditBody = SendMessageBody;

export const SelectQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Newest messages of the new active path to return' }),
});

export const TreeQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SEQ, description: 'Only messages after this id (next_after of the previous page)' })),
});

export const TreeMessage = Type.Object({
  id: Type.String({ ...MessageId }),
  parent_id: Type.Union([Type.String({ ...MessageId }), Type.Null()], { description: 'Null for a first message' }),
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.String(),
  timestamp: Timestamp,
});

export const TreePage = Type.Object({
  success: Type.Literal(true),
  session_id: Type.String({ format: 'uuid' }),
  messages: Type.Array(TreeMessage, { description: 'Every message of the session, every branch, oldest first' }),
  has_more: Type.Boolean(),
  next_after: Type.Union([Type.String({ ...MessageId }), Type.Null()], { description: 'Pass as `after` for the next page' }),
});
