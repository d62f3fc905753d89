import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ removeAdditional: true, useDefaults: true, allErrors: false, strict: false, ...options });
  addFormats.default(ajv);
  return ajv;
}

/**
 * JSON bodies are validated as sent: a number where a string belongs is an error, not coerced.
 * Query strings and path parameters arrive as text, so they are coerced to the schema's types.
 */
export function registerValidation(app: FastifyInstance): void {
  const bodies = makeAjv({ coerceTypes: false });
  const textual = makeAjv({ coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : textual).compile(schema));
}
