import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ChatError } from '../../chat/errors.js';
import type { PersonalityService } from '../../chat/personality-service.js';
import type { ChatService } from '../../chat/session-service.js';
import type { SessionExport, SessionTransfer } from '../../chat/session-transfer.js';
import { userOf } from '../auth.js';
import { validationMessage } from '../error-handler.js';
import { errors } from '../schemas/common.js';
import { SessionDetail } from '../schemas/chatbot.js';
import { EXPORT_VERSION, ExportParams, ExportQuery, ImportQuery, SessionExportJson, SessionImportBody } from '../schemas/session-transfer.js';
import { messageId, sessionDetail, sessionJson, treeMessageJson } from '../session-json.js';
import { sessionMarkdown } from '../session-markdown.js';

export interface SessionTransferRoutesOptions {
  transfer: SessionTransfer;
  personalities: PersonalityService;
  /** Reads the imported session back as GET shows it. */
  chat: ChatService;
}

const tags = ['chatbot'];

/** A file name for a session: its title's words (ASCII letters and digits), then the start of its id. */
function fileName(exported: SessionExport, extension: string): string {
  const words = (exported.session.title ?? '').toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const slug = words.join('-').slice(0, 40).replace(/-+$/, '');
  return `chatify-${slug ? `${slug}-` : ''}${exported.session.id.slice(0, 8)}.${extension}`;
}

/** Sessions out (JSON with the whole tree, or Markdown of the conversation) and back in as new sessions. */
export const sessionTransferRoutes: FastifyPluginAsyncTypebox<SessionTransferRoutesOptions> = async (app, { transfer, personalities, chat }) => {
  app.get('/chatbot/session/:id/export', {
    schema: {
      tags,
      summary: 'Download a session: JSON with every branch, or Markdown of the conversation',
      params: ExportParams,
      querystring: ExportQuery,
      response: {
        200: {
          description: 'The session as a file (Content-Disposition names it)',
          content: {
            'application/json': { schema: SessionExportJson },
            'text/markdown': { schema: { type: 'string' } },
          },
        },
        ...errors(401, 404, 422),
      },
    },
    handler: async (request, reply) => {
      const exported = await transfer.export(request.params.id, request.caller);
      const markdown = request.query.format === 'markdown';
      reply.header('content-disposition', `attachment; filename="${fileName(exported, markdown ? 'md' : 'json')}"`);
      if (markdown) {
        const name = (await personalities.resolve(exported.session.templateId))?.personality.name ?? exported.session.templateId;
        return reply.type('text/markdown; charset=utf-8').send(sessionMarkdown(exported, name));
      }
      return {
        chatify_export: EXPORT_VERSION,
        ...sessionJson(exported.session),
        active_message_id: exported.session.activeSeq === null ? null : messageId(exported.session.activeSeq),
        messages: exported.messages.map(treeMessageJson),
      };
    },
  });

  app.post('/chatbot/sessions/import', {
    schema: {
      tags,
      summary: 'Start a session from an exported one: the same tree, a new id',
      description:
        'Takes what `GET …/export` (JSON) answers. The new session belongs to the caller (signed in: the token\'s user; ' +
        "otherwise `?user_id=`, else the file's `user_id`), is active, has the file's title and tree (message ids are " +
        'renumbered from 1 in file order; the active path is the file\'s) and no token usage yet. A file that is not a ' +
        'valid export is refused whole (422 `invalid_import`); its size is bounded by BODY_LIMIT_BYTES (413).',
      querystring: ImportQuery,
      body: SessionImportBody,
      response: { 201: SessionDetail, ...errors(401, 403, 413, 422) },
    },
    attachValidation: true,
    handler: async (request, reply) => {
      if (request.validationError) {
        throw new ChatError('invalid_import', `This file cannot be imported: ${validationMessage(request.validationError as Parameters<typeof validationMessage>[0])}`);
      }
      const body = request.body;
      const session = await transfer.import({
        templateId: body.template_id,
        title: body.title ?? null,
        activeId: body.active_message_id,
        messages: body.messages.map((m) => ({ id: m.id, parentId: m.parent_id, role: m.role, content: m.content, createdAt: m.timestamp })),
      }, () => {
        // Signed in, the caller (another user named in the query is refused); else the query's, or the file's.
        const named = request.query.user_id;
        return named !== undefined ? userOf(request, named) : (request.caller.userId ?? userOf(request, body.user_id));
      });
      reply.code(201);
      return sessionDetail(await chat.getSession(session.id, { limit: 100 }, request.caller));
    },
  });
};
