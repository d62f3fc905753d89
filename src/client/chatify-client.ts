/**
 * A small typed client for the Chatify API, for browsers and Node (anything with fetch). Its types
 * are the server's own schemas, so client and server cannot drift apart.
 */
import type {
  ChatReplyJson,
  ConnectionJson,
  ConnectionMessageJson,
  ConnectionSummaryJson,
  EndReplyJson,
  LiveUrlOptions,
  NewPersonalityJson,
  PersonalityChangesJson,
  PersonalityJson,
  PersonalitySummariesJson,
  ReadReceiptJson,
  RulesChangesJson,
  SessionDetailJson,
  SessionExportJson,
  SessionListJson,
  TreePageJson,
  TurnReplyJson,
  UniversalRulesJson,
} from './api-types.js';
import { readEventStream } from './event-stream.js';

export type * from './api-types.js';
export { readEventStream };

/** An error answer from the API (or the network), with the API's stable code. */
export class ChatifyError extends Error {
  override readonly name = 'ChatifyError';
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** snake_case, e.g. session_ended, provider_error, validation_error, network_error. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ChatifyClientOptions {
  /** Where the API lives, e.g. "https://chat.example.com"; empty for the same origin. */
  baseUrl?: string;
  /** Extra headers for every call (e.g. Authorization). */
  headers?: () => Record<string, string>;
  fetch?: typeof fetch;
}

export interface StreamOptions {
  /** Called with each piece of the reply as it arrives. */
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
}

export class ChatifyClient {
  readonly #baseUrl: string;
  readonly #headers: () => Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(options: ChatifyClientOptions = {}) {
    this.#baseUrl = (options.baseUrl ?? '').replace(/\/$/, '');
    this.#headers = options.headers ?? (() => ({}));
    this.#fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  }

  createSession(userId: string, templateId?: string): Promise<ChatReplyJson> {
    return this.#call('POST', '/api/v1/chatbot/session', { user_id: userId, template_id: templateId });
  }

  sendMessage(sessionId: string, message: string): Promise<ChatReplyJson> {
    return this.#call('POST', `/api/v1/chatbot/session/${encodeURIComponent(sessionId)}/message`, { message });
  }

  /** Sends a message and streams the reply; resolves with the same JSON as sendMessage. */
  streamMessage(sessionId: string, message: string, options: StreamOptions = {}): Promise<ChatReplyJson> {
    return this.#stream<ChatReplyJson>(`${sessionPath(sessionId)}/message`, { message }, options);
  }

  /**
   * Attaches to the session's reply in progress (or just finished) after event `afterId` (0: from the
   * start), e.g. after a reload or a dropped connection; resolves with the `done` JSON, or null when
   * there is no such reply (204). `onDelta` gets only the pieces after `afterId`; `onEvent` their ids.
   */
  async resumeStream(sessionId: string, afterId = 0, options: StreamOptions & { onEvent?: (id: number) => void } = {}): Promise<ChatReplyJson | null> {
    const response = await this.#request('GET', `${sessionPath(sessionId)}/stream`, {
      accept: 'text/event-stream',
      signal: options.signal,
      headers: { 'last-event-id': String(afterId) },
    });
    if (response.status === 204) return null;
    if (!response.ok || !response.body) throw await errorOf(response);
    return this.#readTurn<ChatReplyJson>(response, options);
  }

  /** A new version of a reply on the conversation shown (by default the last), made its end. */
  regenerate(sessionId: string, messageId?: string, options?: StreamOptions): Promise<TurnReplyJson> {
    const body = messageId === undefined ? {} : { message_id: messageId };
    const path = `${sessionPath(sessionId)}/regenerate`;
    return options ? this.#stream<TurnReplyJson>(path, body, options) : this.#call('POST', path, body);
  }

  /** A new version of a user message on the conversation shown, then its reply. */
  editMessage(sessionId: string, messageId: string, message: string, options?: StreamOptions): Promise<TurnReplyJson> {
    const path = `${sessionPath(sessionId)}/messages/${encodeURIComponent(messageId)}/edit`;
    return options ? this.#stream<TurnReplyJson>(path, { message }, options) : this.#call('POST', path, { message });
  }

  /** Switches branch: the conversation through this message (down its newest replies). */
  selectMessage(sessionId: string, messageId: string): Promise<SessionDetailJson> {
    return this.#call('POST', `${sessionPath(sessionId)}/messages/${encodeURIComponent(messageId)}/select`);
  }

  /** Every message of the session, every branch, oldest first. */
  getTree(sessionId: string, page: { limit?: number; after?: string } = {}): Promise<TreePageJson> {
    return this.#call('GET', `${sessionPath(sessionId)}/tree${query(page)}`);
  }

  exportSession(sessionId: string): Promise<SessionExportJson> {
    return this.#call('GET', `${sessionPath(sessionId)}/export`);
  }

  /** The conversation shown, as Markdown. */
  async exportMarkdown(sessionId: string): Promise<string> {
    const response = await this.#request('GET', `${sessionPath(sessionId)}/export?format=markdown`, { accept: 'text/markdown' });
    if (!response.ok) throw await errorOf(response);
    return response.text();
  }

  /** A new session from an exported one (for `userId` when the server trusts the client's user id). */
  importSession(file: SessionExportJson, userId?: string): Promise<SessionDetailJson> {
    return this.#call('POST', `/api/v1/chatbot/sessions/import${query({ user_id: userId })}`, file);
  }

  getSession(sessionId: string, page: { limit?: number; before?: number } = {}): Promise<SessionDetailJson> {
    return this.#call('GET', `/api/v1/chatbot/session/${encodeURIComponent(sessionId)}${query(page)}`);
  }

  listSessions(userId: string, page: { limit?: number; cursor?: string } = {}): Promise<SessionListJson> {
    return this.#call('GET', `/api/v1/chatbot/sessions${query({ user_id: userId, ...page })}`);
  }

  endSession(sessionId: string): Promise<EndReplyJson> {
    return this.#call('DELETE', `/api/v1/chatbot/session/${encodeURIComponent(sessionId)}`);
  }

  personalitySummaries(): Promise<PersonalitySummariesJson> {
    return this.#call('GET', '/api/v1/chatbot/personalities');
  }

  listPersonalities(): Promise<PersonalityJson[]> {
    return this.#call('GET', '/api/v1/personalities');
  }

  getPersonality(id: string): Promise<PersonalityJson> {
    return this.#call('GET', `/api/v1/personalities/${encodeURIComponent(id)}`);
  }

  createPersonality(input: NewPersonalityJson): Promise<PersonalityJson> {
    return this.#call('POST', '/api/v1/personalities', input);
  }

  updatePersonality(id: string, changes: PersonalityChangesJson): Promise<PersonalityJson> {
    return this.#call('PUT', `/api/v1/personalities/${encodeURIComponent(id)}`, changes);
  }

  async deletePersonality(id: string): Promise<void> {
    await this.#call('DELETE', `/api/v1/personalities/${encodeURIComponent(id)}`);
  }

  getUniversalRules(): Promise<UniversalRulesJson> {
    return this.#call('GET', '/api/v1/settings/universal-rules');
  }

  updateUniversalRules(changes: RulesChangesJson): Promise<UniversalRulesJson> {
    return this.#call('PUT', '/api/v1/settings/universal-rules', changes);
  }

  /** Starts a chat between two people; an active one between them comes back instead of a new one. */
  createConnection(userId: string | undefined, otherUserId: string): Promise<ConnectionJson> {
    return this.#call('POST', '/api/v1/connections', { user1_id: userId, user2_id: otherUserId });
  }

  /** A user's connections, most recent activity first, with their newest message and unread count. */
  listConnections(
    userId: string | undefined,
    options: { limit?: number; status?: 'active' | 'ended' } = {},
  ): Promise<ConnectionSummaryJson[]> {
    return this.#call('GET', `/api/v1/connections${query({ user_id: userId, ...options })}`);
  }

  /** Sends a message; a retry with the same idempotency key gets the stored message back. */
  sendConnectionMessage(
    connectionId: string,
    senderId: string | undefined,
    content: string,
    options: { idempotencyKey?: string } = {},
  ): Promise<ConnectionMessageJson> {
    const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
    return this.#call('POST', `/api/v1/connections/${encodeURIComponent(connectionId)}/messages`, { sender_id: senderId, content }, headers);
  }

  /** Messages in seq order: after `after`, or the newest `limit` before `before` (or of all). */
  connectionMessages(
    connectionId: string,
    userId: string | undefined,
    page: { limit?: number; after?: number; before?: number } = {},
  ): Promise<ConnectionMessageJson[]> {
    return this.#call('GET', `/api/v1/connections/${encodeURIComponent(connectionId)}/messages${query({ user_id: userId, ...page })}`);
  }

  /** Marks the messages up to `upTo` read for `userId`. */
  markConnectionRead(connectionId: string, userId: string | undefined, upTo: number): Promise<ReadReceiptJson> {
    return this.#call('POST', `/api/v1/connections/${encodeURIComponent(connectionId)}/read`, { user_id: userId, up_to: upTo });
  }

  /** Ends a connection for both people; nothing more can be sent to it. */
  endConnection(connectionId: string, userId: string | undefined): Promise<ConnectionJson> {
    return this.#call('DELETE', `/api/v1/connections/${encodeURIComponent(connectionId)}${query({ user_id: userId })}`);
  }

  /** The live socket's ws:// or wss:// address (relative to the page when there is no baseUrl). */
  liveUrl(options: LiveUrlOptions = {}): string {
    const entries = options.after instanceof Map ? [...options.after] : Object.entries(options.after ?? {});
    const after = entries.filter(([, seq]) => seq > 0).map(([id, seq]) => `${id}:${seq}`).join(',');
    const path = `/api/v1/ws${query({ user_id: options.accessToken ? undefined : options.userId, access_token: options.accessToken, after: after || undefined })}`;
    const base = this.#baseUrl || (globalThis as { location?: { origin: string } }).location?.origin || 'http://localhost';
    return new URL(path, base).toString().replace(/^http/, 'ws');
  }

  async #stream<T>(path: string, body: unknown, options: StreamOptions): Promise<T> {
    const response = await this.#request('POST', path, { body, accept: 'text/event-stream', signal: options.signal });
    if (!response.ok || !response.body) throw await errorOf(response);
    return this.#readTurn<T>(response, options);
  }

  async #readTurn<T>(response: Response, options: StreamOptions & { onEvent?: (id: number) => void }): Promise<T> {
    let done: T | undefined;
    for await (const { event, data, id } of readEventStream(response.body!)) {
      if (id !== undefined) options.onEvent?.(id);
      if (event === 'delta') options.onDelta?.((data as { text: string }).text);
      else if (event === 'done') done = data as T;
      else if (event === 'error') {
        const { code, message: text } = data as { code: string; message: string };
        throw new ChatifyError(response.status, code, text);
      }
    }
    if (!done) throw new ChatifyError(0, 'network_error', 'The connection closed before the reply was complete.');
    return done;
  }

  async #call<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const response = await this.#request(method, path, { body, headers });
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }

  async #request(
    method: string,
    path: string,
    options: { body?: unknown; accept?: string; signal?: AbortSignal | undefined; headers?: Record<string, string> | undefined },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json', ...this.#headers(), ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.#fetch(this.#baseUrl + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ChatifyError(0, 'network_error', 'The server could not be reached. Check your connection and try again.');
    }
  }
}

async function errorOf(response: Response): Promise<ChatifyError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return new ChatifyError(response.status, body.error.code, body.error.message ?? '');
  } catch {
    // not our JSON error body
  }
  return new ChatifyError(response.status, 'http_error', `The server answered ${response.status}.`);
}

const sessionPath = (sessionId: string) => `/api/v1/chatbot/session/${encodeURIComponent(sessionId)}`;

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined) as [string, string | number][];
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)]))}` : '';
}
