import { Ajv, type AnySchemaObject, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

/**
 * `x-numeric-strings: true` on an object schema: its number and integer properties also take a
 * string that spells a decimal number ("1.3", "200"), validated and kept as that number. HTML form
 * fields (sliders, number inputs) send numbers as text; only the schemas that say so accept them.
 */
export const NUMERIC_STRINGS = 'x-numeric-strings';

/** A decimal number and nothing else: no blanks (Number('') is 0), no hex, no Infinity or NaN. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function numericPropertiesOf(schema: AnySchemaObject): string[] {
  const properties = (schema['properties'] ?? {}) as Record<string, { type?: unknown }>;
  return Object.keys(properties).filter((key) => properties[key]?.type === 'number' || properties[key]?.type === 'integer');
}

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ removeAdditional: true, useDefaults: true, allErrors: false, strict: false, ...options });
  addFormats.default(ajv);
  ajv.addKeyword({
    keyword: NUMERIC_STRINGS,
    type: 'object',
    modifying: true,
    // Before the properties are checked, so they see the numbers.
    before: 'properties',
    compile(enabled: unknown, parentSchema: AnySchemaObject) {
      const numeric = enabled === true ? numericPropertiesOf(parentSchema) : [];
      return (data: Record<string, unknown>) => {
        for (const key of numeric) {
          const value = data[key];
          if (typeof value === 'string' && DECIMAL.test(value)) data[key] = Number(value);
        }
        return true;
      };
    },
  });
  return ajv;
}

/**
 * JSON bodies are validated as sent: a number where a string belongs is an error, not coerced
 * (except the numeric strings a schema opts into, see NUMERIC_STRINGS).
 * Query strings and path parameters arrive as text, so they are coerced to the schema's types.
 */
export function registerValidation(app: FastifyInstance): void {
  const bodies = makeAjv({ coerceTypes: false });
  const textual = makeAjv({ coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : textual).compile(schema));
}
