import { Type, type Static } from 'typebox';
import { MAX_TITLE_LENGTH } from '../../chat/session-directory.js';
import { MAX_IMPORT_MESSAGES } from '../../chat/session-transfer.js';
import { TemplateId, Text, Timestamp, UserId } from './common.js';
import { MessageId, SessionParams, sessionFields } from './chatbot.js';
import { TreeMessage } from './message-tree.js';

export const ExportParams = SessionParams;

export const ExportQuery = Type.Object({
  format: Type.Union([Type.Literal('json'), Type.Literal('markdown')], {
    default: 'json',
    description: 'json: the session and every message of its tree (what import takes); markdown: the conversation shown (the active path)',
  }),
});

/** The export format's version: an import of a newer one says so. */
export const EXPORT_VERSION: 1 = 1;

export const SessionExportJson = Type.Object({
  chatify_export: Type.Literal(EXPORT_VERSION, { description: 'The version of this format' }),
  ...sessionFields,
  active_message_id: Type.Union([Type.String({ ...MessageId }), Type.Null()], { description: 'The last message of the conversation shown' }),
  messages: Type.Array(TreeMessage, { description: 'Every message of the tree, every branch, oldest first; parents before children' }),
});

/** What an import needs of a file; anything else in it (an export's other fields) is ignored. */
export const SessionImportBody = Type.Object({
  chatify_export: Type.Optional(Type.Literal(EXPORT_VERSION)),
  user_id: Type.Optional(UserId),
  template_id: TemplateId,
  title: Type.Optional(Type.Union([Text(MAX_TITLE_LENGTH, { minLength: 1 }), Type.Null()])),
  active_message_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
  messages: Type.Array(
    Type.Object({
      id: Type.String({ minLength: 1, maxLength: 64, description: "The file's own id; the new session numbers messages anew" }),
      parent_id: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()], { description: 'An earlier message of the file, or null' }),
      role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
      content: Type.String(),
      timestamp: Timestamp,
    }),
    { maxItems: MAX_IMPORT_MESSAGES },
  ),
});
export type SessionImportBody = Static<typeof SessionImportBody>;

export const ImportQuery = Type.Object({
  // Whom the new session is for when the server trusts the client's user_id (default: the file's).
  user_id: Type.Optional(UserId),
});
