import { Type, type Static } from 'typebox';
import { MAX_QUERY_LENGTH, MAX_TITLE_LENGTH } from '../../chat/session-directory.js';
import { MAX_SEQ, Timestamp, TemplateId, UserId } from './common.js';

export const SessionParams = Type.Object({ id: Type.String({ description: 'The session id (a UUID)' }) });

export const CreateSessionBody = Type.Object(
  {
    user_id: Type.Optional(UserId),
    template_id: Type.Optional(Type.Union([TemplateId, Type.Null()], { description: 'Defaults to the default personality' })),
  },
  { additionalProperties: false },
);
export type CreateSessionBody = Static<typeof CreateSessionBody>;

export const SendMessageQuery = Type.Object({
  stream: Type.Optional(Type.Boolean({ description: 'Answer as Server-Sent Events (same as Accept: text/event-stream)' })),
});

export const SendMessageBody = Type.Object(
  { message: Type.String({ minLength: 1, description: 'The user message; at most MAX_MESSAGE_LENGTH characters' }) },
  { additionalProperties: false },
);

/** The six keys the original Chatify always answers, plus what a call adds. */
const chatReplyFields = {
  success: Type.Literal(true),
  message: Type.Union([Type.String(), Type.Null()]),
  error: Type.Null(),
  session_id: Type.String({ format: 'uuid' }),
  response: Type.Union([Type.String(), Type.Null()]),
  message_count: Type.Integer({ description: 'Completed exchanges: 1 after the first reply' }),
};

export const ChatReply = Type.Object(chatReplyFields);
export type ChatReply = Static<typeof ChatReply>;

/** A message's id: its seq, in decimal. */
export const MessageId = Type.String({ pattern: '^[1-9][0-9]{0,15}$' });

/** What a send, regenerate or edit answers: the reply and where it is stored. */
export const TurnReply = Type.Object({
  ...chatReplyFields,
  message_count: Type.Integer({ description: 'Exchanges on the active path after this one (a regenerate leaves it as it was)' }),
  message_id: Type.Union([Type.String({ ...MessageId }), Type.Null()], { description: "The reply's message id (its place in the session's tree)" }),
});

export type TurnReply = Static<typeof TurnReply>;

/** The 200 of a send (the seed's answer) or of a regenerate or edit (with message_id): JSON, or Server-Sent Events when streaming. */
export const turnReplyResponse = (schema: typeof ChatReply | typeof TurnReply) => ({
  description: 'The reply: JSON, or Server-Sent Events when streaming',
  content: {
    'application/json': { schema },
    'text/event-stream': { schema: Type.String({ description: 'delta* then done (the JSON answer), or error' }) },
  },
});

const Usage = Type.Object(
  {
    prompt_tokens: Type.Integer({ description: 'Of the replies' }),
    completion_tokens: Type.Integer({ description: 'Of the replies' }),
    memory_tokens: Type.Integer({ description: 'Of the housekeeping calls: titles, summaries, memories (MEMORY_MODEL)' }),
    total_tokens: Type.Integer({ description: 'All of them' }),
  },
  { description: 'Tokens the model reported using' },
);

export const sessionFields = {
  session_id: Type.String({ format: 'uuid' }),
  user_id: Type.String(),
  template_id: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('ended')]),
  created_at: Timestamp,
  last_activity: Timestamp,
  ended_at: Type.Union([Timestamp, Type.Null()]),
  message_count: Type.Integer(),
  usage: Usage,
  title: Type.Union([Type.String(), Type.Null()], {
    description: 'A short name: made by the model after the first exchange (null until then, or if that failed), or set with PATCH',
  }),
};
export const SessionSummary = Type.Object(sessionFields);

export const HistoryMessage = Type.Object({
  seq: Type.Integer({ description: 'Position in the session, from 1, in the order messages were stored (whatever their branch)' }),
  id: Type.String({ ...MessageId, description: "The message's stable id (its seq, in decimal)" }),
  parent_id: Type.Union([Type.String({ ...MessageId }), Type.Null()], {
    description: 'The id of the message this one follows in the session\'s tree; null for a first message',
  }),
  sibling_ids: Type.Array(Type.String({ ...MessageId }), {
    description: 'Ids of every message with the same parent, this one included, oldest first: its versions (regenerated or edited)',
  }),
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.String(),
  timestamp: Timestamp,
  usage: Type.Union([Type.Object({ prompt_tokens: Type.Integer(), completion_tokens: Type.Integer() }), Type.Null()], {
    description: 'On replies: what the model reported for this call',
  }),
});

export const HistoryQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100, description: 'Newest messages to return' }),
  before: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEQ, description: 'Only messages with seq below this (from next_before)' })),
});

export const SessionDetail = Type.Object({
  ...chatReplyFields,
  ...sessionFields,
  conversation_history: Type.Array(HistoryMessage, { description: 'Oldest first' }),
  has_more: Type.Boolean({ description: 'Older messages exist' }),
  next_before: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `before` for the previous page' }),
  summary: Type.Union([Type.String(), Type.Null()], {
    description: 'What left the context window, summarised (CONTEXT_SUMMARY); null until messages have left it, or on a branch not summarised yet',
  }),
});

export const SessionListQuery = Type.Object({
  user_id: Type.Optional(UserId),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  // Each store's own shape: a seq (SQLite, PostgreSQL) or a push key (Firebase); the store checks it is its own.
  cursor: Type.Optional(Type.String({ pattern: '^(?:[0-9]{1,19}|[-0-9A-Za-z_]{20})$', description: 'next_cursor of the previous page' })),
  q: Type.Optional(
    Type.String({
      maxLength: MAX_QUERY_LENGTH,
      description:
        'Only sessions whose title or one message contains every word of q as the start of a word, case-insensitive ' +
        '(Firebase: titles only). Blank is the same as absent; without any letter or digit it is refused (422 invalid_query).',
    }),
  ),
});

export const RenameSessionBody = Type.Object(
  {
    title: Type.String({
      minLength: 1,
      maxLength: MAX_TITLE_LENGTH * 2,
      description: `The new title: one line, at most ${MAX_TITLE_LENGTH} characters, with a visible one (surrounding spaces are trimmed)`,
    }),
  },
  { additionalProperties: false },
);

export const SessionList = Type.Object({
  success: Type.Literal(true),
  sessions: Type.Array(SessionSummary, { description: 'Newest first' }),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});

export const EndReply = Type.Object({
  ...chatReplyFields,
  stats: Type.Object({ duration_seconds: Type.Number(), message_count: Type.Integer() }),
});

export const PersonalitySummaries = Type.Object({
  success: Type.Literal(true),
  personalities: Type.Record(Type.String(), Type.String(), { description: 'id → description' }),
  default: Type.String(),
});


export const UsageQuery = Type.Object({ user_id: Type.Optional(UserId) });

export const UserUsage = Type.Object({
  success: Type.Literal(true),
  user_id: Type.String(),
  sessions: Type.Integer(),
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  memory_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
});
