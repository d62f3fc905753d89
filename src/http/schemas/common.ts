import { Type } from 'typebox';

/** Free text that may hold newlines and tabs but no other control characters. */
export const Text = (maxLength: number, options: { minLength?: number; description?: string } = {}) =>
  Type.String({ maxLength, pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$', ...options });

const USER_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.@:+|-]{0,127}$';
const USER_ID = new RegExp(USER_ID_PATTERN);

/** The rule for a user id wherever one arrives outside a schema (a token's subject). */
export const isUserId = (value: unknown): value is string => typeof value === 'string' && USER_ID.test(value);

export const UserId = Type.String({
  pattern: USER_ID_PATTERN,
  description:
    'Letters, digits and _ . @ : + | -, at most 128 characters, starting with a letter or digit. ' +
    'Optional when signed in (AUTH_MODE=jwt): the token names the user.',
  examples: ['user_12345'],
});

export const TemplateId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$',
  description: 'A personality id: letters, digits, _ and -, at most 64 characters.',
  examples: ['friendly-assistant'],
});

/**
 * The largest sequence number any store holds: they are 32-bit integers in the SQL stores, and one
 * limit for every store keeps behaviour the same whichever answers. Larger ones are refused (422).
 */
export const MAX_SEQ = 2_147_483_647;

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });

export const ErrorBody = Type.Object(
  {
    success: Type.Literal(false),
    error: Type.Object({
      code: Type.String({ description: 'snake_case, stable: program against it' }),
      message: Type.String({ description: 'What happened and what to do, for people' }),
    }),
    detail: Type.String({ description: 'The same as error.message, where FastAPI clients look for it' }),
  },
  { $id: 'Error', description: 'Every error, whatever the status' },
);

/** The error statuses a route documents, all with the same body. */
export const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, Type.Ref('Error')]));
