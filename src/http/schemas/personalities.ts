import { Type } from 'typebox';
import { Text, Timestamp } from './common.js';

/** What a client may set on a personality; bounds keep one template from swallowing a context window. */
const editable = {
  name: Text(100, { minLength: 1 }),
  title: Text(200),
  description: Text(1000),
  category: Text(50),
  personalityPrompt: Text(20_000, { minLength: 1, description: 'The system prompt of this personality' }),
  welcomeMessage: Text(2000),
  model: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$', description: 'The model name the server knows' }),
  temperature: Type.Number({ minimum: 0, maximum: 2 }),
  maxTokens: Type.Integer({ minimum: 1, maximum: 128_000 }),
  presencePenalty: Type.Number({ minimum: -2, maximum: 2 }),
  frequencyPenalty: Type.Number({ minimum: -2, maximum: 2 }),
  tags: Type.Array(Text(40, { minLength: 1 }), { maxItems: 20 }),
  isPublic: Type.Boolean(),
};

export const PersonalityParams = Type.Object({ id: Type.String() });

const { name, personalityPrompt, ...optional } = editable;

export const CreatePersonalityBody = Type.Object(
  { name, personalityPrompt, ...Type.Partial(Type.Object(optional)).properties },
  { additionalProperties: false, description: 'The id is made from the name; unset fields take defaults' },
);

export const UpdatePersonalityBody = Type.Partial(Type.Object(editable), {
  additionalProperties: false,
  minProperties: 1,
  description: 'Only the given fields change',
});

export const Personality = Type.Object(
  {
    id: Type.String(),
    ...editable,
    isDefault: Type.Boolean({ description: 'Shipped with Chatify; cannot be deleted' }),
    usageCount: Type.Integer({ description: 'Sessions started with it' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Personality' },
);

export const UniversalRules = Type.Object({
  rules: Type.String(),
  version: Type.Integer(),
  enabled: Type.Boolean(),
  updatedAt: Timestamp,
});

export const UpdateRulesBody = Type.Object(
  {
    rules: Type.Optional(Text(20_000, { description: 'Placed before every personality prompt, then a blank line' })),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
