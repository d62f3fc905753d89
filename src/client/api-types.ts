/** The JSON the Chatify API speaks, as types derived from the server's own schemas. */
import type { Static } from 'typebox';
import type {
  ChatReply,
  EndReply,
  PersonalitySummaries,
  SessionDetail,
  SessionList,
  TurnReply,
} from '../http/schemas/chatbot.js';
import type { Connection, ConnectionListItem, Message, ReadReply } from '../http/schemas/connections.js';
import type { TreePage } from '../http/schemas/message-tree.js';
import type { SessionExportJson as SessionExportSchema } from '../http/schemas/session-transfer.js';

import type {
  CreatePersonalityBody,
  Personality,
  UniversalRules,
  UpdatePersonalityBody,
  UpdateRulesBody,
} from '../http/schemas/personalities.js';

export type ChatReplyJson = Static<typeof ChatReply>;
/** What a send, regenerate or edit answers: the reply and its `message_id`. */
export type TurnReplyJson = Static<typeof TurnReply>;
export type TreePageJson = Static<typeof TreePage>;
/** A session as `export` gives it and `importSession` takes it: every message of its tree. */
export type SessionExportJson = Static<typeof SessionExportSchema>;
export type SessionDetailJson = Static<typeof SessionDetail>;
/** One message of a session's conversation, with its place in the session's tree (`id`, `parent_id`, `sibling_ids`). */
export type HistoryMessageJson = SessionDetailJson['conversation_history'][number];
export type SessionSummaryJson = Static<typeof SessionList>['sessions'][number];
export type SessionListJson = Static<typeof SessionList>;
export type EndReplyJson = Static<typeof EndReply>;
export type PersonalitySummariesJson = Static<typeof PersonalitySummaries>;
export type PersonalityJson = Static<typeof Personality>;
export type NewPersonalityJson = Static<typeof CreatePersonalityBody>;
export type PersonalityChangesJson = Static<typeof UpdatePersonalityBody>;
export type UniversalRulesJson = Static<typeof UniversalRules>;
export type RulesChangesJson = Static<typeof UpdateRulesBody>;

/** A chat between two people. */
export type ConnectionJson = Static<typeof Connection>;
/** One message between people; `seq` counts from 1 in its connection, without gaps. */
export type ConnectionMessageJson = Static<typeof Message>;
/** A connection as one participant sees it in their list. */
export type ConnectionSummaryJson = Omit<Static<typeof ConnectionListItem>, 'last_message'> & {
  last_message: ConnectionMessageJson | null;
};
export type ReadReceiptJson = Static<typeof ReadReply>;

/** What the live socket (GET /api/v1/ws) sends. */
export type LiveServerFrame =
  | { type: 'ready'; user_id: string }
  | { type: 'message'; connection_id: string; message: ConnectionMessageJson }
  | { type: 'typing'; connection_id: string; user_id: string }
  | { type: 'read'; connection_id: string; user_id: string; up_to: number }
  | { type: 'connection'; connection: ConnectionJson }
  | { type: 'error'; error: { code: string; message: string } }
  | { type: 'pong' };

/** What a client may send on the live socket. */
export type LiveClientFrame = { type: 'typing'; connection_id: string } | { type: 'ping' };

export interface LiveUrlOptions {
  /** Without sign-in: the user to listen for. */
  userId?: string | undefined;
  /** With sign-in: the token (browsers cannot set headers on a WebSocket). */
  accessToken?: string | undefined;
  /** Resume: the last seq the client has per connection; the server first sends what came after. */
  after?: ReadonlyMap<string, number> | Record<string, number> | undefined;
}
