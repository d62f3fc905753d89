import type { FastifyInstance } from 'fastify';
import { ChatError } from '../chat/errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Request bodies are JSON, whatever the client calls them: like the original FastAPI service, a body
 * sent as text/plain, form-encoded or without a content type is read as JSON (and refused with 400
 * when it is not). An empty body is no body, so `DELETE` with a JSON content type still works.
 * Bytes that are not UTF-8 are refused (400) rather than replaced; strings with broken Unicode
 * (lone surrogates from \ud800-style escapes) are refused (422 invalid_text) wherever they are.
 * Keys such as "__proto__" and "constructor.prototype" are refused outright.
 */
export function registerBodyParsing(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(Object.assign(new Error('The body is not valid UTF-8.'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
      return;
    }
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, (error, value) => {
      if (error) done(error, undefined);
      else if (!wellFormed(value)) done(new ChatError('invalid_text', 'The body contains broken Unicode (a lone surrogate).'), undefined);
      else done(null, value);
    });
  });
}

/** Every string in a parsed JSON value, keys included, is well-formed Unicode. */
function wellFormed(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed();
  if (Array.isArray(value)) return value.every(wellFormed);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([key, item]) => key.isWellFormed() && wellFormed(item));
  }
  return true;
}
