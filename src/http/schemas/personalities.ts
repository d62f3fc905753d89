import { Type } from 'typebox';
import { NUMERIC_STRINGS } from '../validation.js';
import { Text, Timestamp } from './common.js';

/** What a client may set on a personality; bounds keep one template from swallowing a context window. */
const editable = {
  name: Text(100, { minLength: 1 }),
  title: Text(200),
  description: Text(1000),
  category: Text(50),
  // At least 10 characters, as the original service validated.
  personalityPrompt: Text(20_000, { minLength: 10, description: 'The system prompt of this personality, at least 10 characters' }),
  welcomeMessage: Text(2000),
  model: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$', description: 'The model name the server knows' }),
  temperature: Type.Number({ minimum: 0, maximum: 2 }),
  maxTokens: Type.Integer({ minimum: 1, maximum: 128_000 }),
  presencePenalty: Type.Number({ minimum: -2, maximum: 2 }),
  frequencyPenalty: Type.Number({ minimum: -2, maximum: 2 }),
  tags: Type.Array(Text(40), { maxItems: 20, description: 'Empty or blank tags are dropped' }),
  isPublic: Type.Boolean(),
  isDefault: Type.Boolean({ description: 'A default personality cannot be deleted (the shipped ones start as defaults)' }),
  memory: Type.Boolean({ description: 'Remembers facts about each user across sessions (default true; see MEMORY_ENABLED)' }),
};

/** Browser forms send numbers as text: "1.3" counts as 1.3 in these bodies, and "hot" is still refused. */
const NUMBERS_AS_TEXT = 'Number fields also take a string holding a number ("1.3"), stored as that number.';

export const PersonalityParams = Type.Object({ id: Type.String() });

const { name, personalityPrompt, ...optional } = editable;

export const CreatePersonalityBody = Type.Object(
  { name, personalityPrompt, ...Type.Partial(Type.Object(optional)).properties },
  {
    additionalProperties: false,
    [NUMERIC_STRINGS]: true,
    description: `The id is made from the name; unset fields take defaults. ${NUMBERS_AS_TEXT}`,
  },
);

export const UpdatePersonalityBody = Type.Partial(Type.Object(editable), {
  additionalProperties: false,
  minProperties: 1,
  [NUMERIC_STRINGS]: true,
  description: `Only the given fields change. ${NUMBERS_AS_TEXT}`,
});

export const Personality = Type.Object(
  {
    id: Type.String(),
    ...editable,
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
