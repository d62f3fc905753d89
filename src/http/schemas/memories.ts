import { Type } from 'typebox';
import { MAX_MEMORY_LENGTH } from '../../chat/memory-service.js';
import { TemplateId, Text, Timestamp, UserId } from './common.js';

export const MemoryJson = Type.Object({
  id: Type.String({ format: 'uuid' }),
  user_id: Type.String(),
  personality_id: Type.Union([Type.String(), Type.Null()], { description: 'Null: every personality keeps it' }),
  text: Type.String(),
  source_session_id: Type.Union([Type.String(), Type.Null()], { description: 'The session it was learnt in; null when written by the user' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const MemoryScopeQuery = Type.Object({
  user_id: Type.Optional(UserId),
  personality_id: Type.Optional({ ...TemplateId }),
});

export const MemoryList = Type.Object({
  success: Type.Literal(true),
  memories: Type.Array(MemoryJson, { description: 'Most recently changed first' }),
});

export const CreateMemoryBody = Type.Object(
  {
    user_id: Type.Optional(UserId),
    personality_id: Type.Optional(Type.Union([TemplateId, Type.Null()], { description: 'Absent or null: every personality' })),
    text: Text(MAX_MEMORY_LENGTH * 2, { minLength: 1, description: `A short fact, at most ${MAX_MEMORY_LENGTH} characters once trimmed` }),
  },
  { additionalProperties: false },
);

export const MemoryParams = Type.Object({ id: Type.String() });

export const UpdateMemoryBody = Type.Object(
  { text: Text(MAX_MEMORY_LENGTH * 2, { minLength: 1 }) },
  { additionalProperties: false },
);

export const DeletedReply = Type.Object({ success: Type.Literal(true), deleted: Type.Integer({ description: 'Memories erased' }) });
