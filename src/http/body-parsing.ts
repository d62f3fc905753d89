import type { FastifyInstance } from 'fastify';

/**
 * Request bodies are JSON, whatever the client calls them: like the original FastAPI service, a body
 * sent as text/plain, form-encoded or without a content type is read as JSON (and refused with 400
 * when it is not). An empty body is no body, so `DELETE` with a JSON content type still works.
 * Keys such as "__proto__" and "constructor.prototype" are refused outright.
 */
export function registerBodyParsing(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
