import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';

/**
 * The bad-input battery: every request below is wrong in some way (malformed JSON, wrong types,
 * huge bodies, invalid and very long ids, `__proto__`/`constructor` keys, control characters and
 * invalid UTF-8, SQL-looking and path-looking strings, broken HTTP), sent to the chatbot and
 * personality routes and to the user-to-user chat routes (connections, push subscriptions, the live
 * WebSocket). Each must be answered with a 4xx and the documented body
 * `{success:false, error:{code, message}, detail}` (detail: the message again), must leave the store
 * byte-for-byte as it was, must never reach the model, and the server must stay healthy.
 */

const S = '/api/v1/chatbot/session';
const LIST = '/api/v1/chatbot/sessions';
const P = '/api/v1/personalities';
const RULES = '/api/v1/settings/universal-rules';
const C = '/api/v1/connections';
const PUSH = '/api/v1/push/subscriptions';
const WS = '/api/v1/ws';
const BODY_LIMIT = 262_144; // BODY_LIMIT_BYTES default
const MAX_MESSAGE = 4000; // MAX_MESSAGE_LENGTH default
const PEOPLE_MAX_MESSAGE = 4000; // PEOPLE_MAX_MESSAGE_LENGTH default

/** The users of the people cases: alice and bob are connected, alice and carol were; mallory is in neither. */
const ALICE = 'battery_alice';
const BOB = 'battery_bob';
const CAROL = 'battery_carol';
const MALLORY = 'battery_mallory';

/** Ids made in beforeAll, for the cases that need a real session, personality, connection or device. */
interface Ctx {
  sessionId: string;
  endedId: string;
  personalityId: string;
  /** alice ↔ bob, active, one message (seq 1, from alice). */
  connectionId: string;
  /** alice ↔ carol, ended, one message (from carol). */
  endedConnectionId: string;
  /** alice's FCM device. */
  pushId: string;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

interface BadCase {
  name: string;
  method: Method;
  path: string | ((c: Ctx) => string);
  /** A JSON value, serialised with JSON.stringify. */
  json?: unknown;
  /** A body sent exactly as this text. */
  text?: string;
  /** A body sent exactly as these bytes (invalid UTF-8). */
  bytes?: Uint8Array;
  headers?: Record<string, string>;
  /** A whole HTTP request written to a socket as is (for what fetch refuses to send). */
  raw?: (c: Ctx) => Buffer;
  /** Open a WebSocket to `path` (a real upgrade, with the `ws` client) instead of a plain request. */
  upgrade?: true;
  /** The exact status, or any client error. */
  status: number | '4xx';
  /** The exact error code, when the README documents it. */
  code?: string;
}

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

const msg = (c: Ctx) => `${S}/${c.sessionId}/message`;
const stream = (c: Ctx) => `${S}/${c.sessionId}/message?stream=true`;
const custom = (c: Ctx) => `${P}/${c.personalityId}`;
const validPersonality = { name: 'Valid Name', personalityPrompt: 'You are valid.' };
const conn = (c: Ctx) => `${C}/${c.connectionId}`;
const connMessages = (c: Ctx) => `${conn(c)}/messages`;
const connRead = (c: Ctx) => `${conn(c)}/read`;
const endedConn = (c: Ctx) => `${C}/${c.endedConnectionId}`;
const webPush = (endpoint: string) => ({ user_id: ALICE, kind: 'webpush', subscription: { endpoint, keys: { p256dh: 'BNkey', auth: 'k8auth' } } });

/** A raw HTTP/1.1 request; `Connection: close` so the answer ends with the socket. */
const rawRequest = (head: string, body: Buffer | string = '') =>
  Buffer.concat([Buffer.from(`${head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 'latin1'), Buffer.from(body)]);

const deepJson = (depth: number) => `{"message":${'{"a":'.repeat(depth)}{"constructor":{"prototype":{"x":1}}}${'}'.repeat(depth)}}`;

const cases: BadCase[] = [
  // ── Malformed JSON ────────────────────────────────────────────────────────────────────────────
  { name: 'create: truncated JSON', method: 'POST', path: S, text: '{"user_id": "u1"', status: 400, code: 'invalid_json' },
  { name: 'create: form-encoded body sent as text/plain', method: 'POST', path: S, text: 'user_id=u1&template_id=x', headers: { 'content-type': 'text/plain' }, status: 400, code: 'invalid_json' },
  { name: 'message: single-quoted string', method: 'POST', path: msg, text: "{\"message\": 'hi'}", status: 400, code: 'invalid_json' },
  { name: 'message: invalid escape \\x41', method: 'POST', path: msg, text: '{"message": "\\x41"}', status: 400, code: 'invalid_json' },
  { name: 'message (stream): trailing comma', method: 'POST', path: stream, text: '{"message": "hi",}', status: 400, code: 'invalid_json' },
  { name: 'personality create: NaN literal', method: 'POST', path: P, text: '{"name":"A","personalityPrompt":"p","temperature":NaN}', status: 400, code: 'invalid_json' },
  { name: 'personality update: not JSON at all', method: 'PUT', path: custom, text: 'not json at all', status: 400, code: 'invalid_json' },
  { name: 'rules: JSON with a comment', method: 'PUT', path: RULES, text: '{"rules": "x" /* comment */}', status: 400, code: 'invalid_json' },
  { name: 'end session: a real session with a malformed body', method: 'DELETE', path: (c) => `${S}/${c.sessionId}`, text: '{oops', status: 400, code: 'invalid_json' },

  // ── Wrong types ───────────────────────────────────────────────────────────────────────────────
  { name: 'create: user_id is an array', method: 'POST', path: S, json: { user_id: ['u1'] }, status: 422, code: 'validation_error' },
  { name: 'create: user_id is null', method: 'POST', path: S, json: { user_id: null }, status: 422, code: 'validation_error' },
  { name: 'create: user_id is a NoSQL operator object', method: 'POST', path: S, json: { user_id: { $ne: null } }, status: 422, code: 'validation_error' },
  { name: 'create: body is a JSON array', method: 'POST', path: S, json: [{ user_id: 'u1' }], status: 422, code: 'validation_error' },
  { name: 'create: body is JSON null', method: 'POST', path: S, text: 'null', status: 422, code: 'validation_error' },
  { name: 'message: number', method: 'POST', path: msg, json: { message: 42 }, status: 422, code: 'validation_error' },
  { name: 'message: boolean', method: 'POST', path: msg, json: { message: true }, status: 422, code: 'validation_error' },
  { name: 'message: array of strings', method: 'POST', path: msg, json: { message: ['hi'] }, status: 422, code: 'validation_error' },
  { name: 'message: body is a bare JSON string', method: 'POST', path: msg, text: '"hi"', status: 422, code: 'validation_error' },
  { name: 'message: duplicate key, the last one a number', method: 'POST', path: msg, text: '{"message":"hi","message":5}', status: 422, code: 'validation_error' },
  { name: 'message (stream): object instead of text', method: 'POST', path: stream, json: { message: { text: 'hi' } }, status: 422, code: 'validation_error' },
  { name: 'message: ?stream=maybe', method: 'POST', path: (c) => `${msg(c)}?stream=maybe`, json: { message: 'hi' }, status: 422, code: 'validation_error' },
  { name: 'message: empty body', method: 'POST', path: msg, text: '', status: 422, code: 'validation_error' },
  { name: 'personality create: temperature is a string', method: 'POST', path: P, json: { ...validPersonality, temperature: 'hot' }, status: 422, code: 'validation_error' },
  { name: 'personality create: maxTokens is fractional', method: 'POST', path: P, json: { ...validPersonality, maxTokens: 1.5 }, status: 422, code: 'validation_error' },
  { name: 'personality create: tags is a string', method: 'POST', path: P, json: { ...validPersonality, tags: 'a,b' }, status: 422, code: 'validation_error' },
  { name: 'personality create: personalityPrompt missing', method: 'POST', path: P, json: { name: 'No Prompt' }, status: 422, code: 'validation_error' },
  { name: 'personality create: blank name', method: 'POST', path: P, json: { name: '   ', personalityPrompt: 'You are nameless.' }, status: 422 },
  { name: 'personality update: isPublic is a string', method: 'PUT', path: custom, json: { isPublic: 'yes' }, status: 422, code: 'validation_error' },
  { name: 'personality update: maxTokens far above the maximum', method: 'PUT', path: custom, json: { maxTokens: 1e9 }, status: 422, code: 'validation_error' },
  { name: 'personality update: temperature -1', method: 'PUT', path: custom, json: { temperature: -1 }, status: 422, code: 'validation_error' },
  { name: 'personality update: empty object', method: 'PUT', path: custom, json: {}, status: 422 },
  { name: 'personality update (shipped): only id and usageCount, which are not editable', method: 'PUT', path: `${P}/friendly-assistant`, json: { id: 'hijacked', usageCount: 5 }, status: 422 },
  { name: 'personality create: maxTokens is text that is no number', method: 'POST', path: P, json: { ...validPersonality, maxTokens: 'fifty' }, status: 422, code: 'validation_error' },
  { name: 'personality create: maxTokens is an empty string', method: 'POST', path: P, json: { ...validPersonality, maxTokens: '' }, status: 422, code: 'validation_error' },
  { name: 'personality create: temperature as text above the maximum', method: 'POST', path: P, json: { ...validPersonality, temperature: '2.5' }, status: 422, code: 'validation_error' },
  { name: 'personality update: isDefault as text', method: 'PUT', path: custom, json: { isDefault: 'true' }, status: 422, code: 'validation_error' },
  { name: 'personality update: name as a number', method: 'PUT', path: custom, json: { name: 12345 }, status: 422, code: 'validation_error' },
  { name: 'personality create: a 9-character prompt', method: 'POST', path: P, json: { name: 'Terse', personalityPrompt: 'Be brief.' }, status: 422, code: 'validation_error' },
  { name: 'rules: enabled is the string "true"', method: 'PUT', path: RULES, json: { enabled: 'true' }, status: 422, code: 'validation_error' },
  { name: 'rules: rules is a number', method: 'PUT', path: RULES, json: { rules: 123 }, status: 422, code: 'validation_error' },
  { name: 'rules: empty object', method: 'PUT', path: RULES, json: {}, status: 422 },
  { name: 'read session: limit=abc', method: 'GET', path: (c) => `${S}/${c.sessionId}?limit=abc`, status: 422, code: 'validation_error' },
  { name: 'read session: limit=1.5', method: 'GET', path: (c) => `${S}/${c.sessionId}?limit=1.5`, status: 422, code: 'validation_error' },
  { name: 'list sessions: limit=-5', method: 'GET', path: `${LIST}?user_id=u1&limit=-5`, status: 422, code: 'validation_error' },
  { name: 'list sessions: user_id missing', method: 'GET', path: `${LIST}?limit=5`, status: 422, code: 'user_required' },

  // ── Huge bodies and long texts ────────────────────────────────────────────────────────────────
  { name: 'create: 300 KB user_id', method: 'POST', path: S, json: { user_id: 'u'.repeat(300_000) }, status: 413, code: 'payload_too_large' },
  { name: 'message: 1 MB message', method: 'POST', path: msg, json: { message: 'x'.repeat(1_000_000) }, status: 413, code: 'payload_too_large' },
  { name: 'message (stream): 300 KB message', method: 'POST', path: stream, json: { message: 'y'.repeat(300_000) }, status: 413, code: 'payload_too_large' },
  { name: 'personality create: 300 KB prompt', method: 'POST', path: P, json: { name: 'Huge', personalityPrompt: 'p'.repeat(300_000) }, status: 413, code: 'payload_too_large' },
  { name: 'rules: 300 KB rules', method: 'PUT', path: RULES, json: { rules: 'r'.repeat(300_000) }, status: 413, code: 'payload_too_large' },
  {
    name: 'raw: Content-Length of 999999999 with a tiny body',
    method: 'POST',
    path: S,
    raw: () => rawRequest(`POST ${S} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 999999999`, '{"user_id":"u1"}'),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'raw: chunked body over the limit, no Content-Length',
    method: 'POST',
    path: msg,
    raw: (c) => {
      const chunk = `{"message":"${'z'.repeat(BODY_LIMIT + 10_000)}"}`;
      const body = `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
      return rawRequest(`POST ${msg(c)} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, body);
    },
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'message: one character over MAX_MESSAGE_LENGTH', method: 'POST', path: msg, json: { message: 'm'.repeat(MAX_MESSAGE + 1) }, status: 422, code: 'message_too_long' },
  { name: 'personality create: 101-character name', method: 'POST', path: P, json: { name: 'n'.repeat(101), personalityPrompt: 'You are long-named.' }, status: 422, code: 'validation_error' },
  { name: 'personality create: 21 tags', method: 'POST', path: P, json: { ...validPersonality, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, status: 422, code: 'validation_error' },
  { name: 'rules: 20,001 characters', method: 'PUT', path: RULES, json: { rules: 'r'.repeat(20_001) }, status: 422, code: 'validation_error' },
  { name: 'message: 40,000-deep nesting hiding a constructor.prototype', method: 'POST', path: msg, text: deepJson(40_000), status: 400, code: 'invalid_json' },

  // ── Invalid and very long ids ─────────────────────────────────────────────────────────────────
  { name: 'read session: not a UUID', method: 'GET', path: `${S}/not-a-uuid`, status: 404, code: 'session_not_found' },
  { name: 'read session: %00', method: 'GET', path: `${S}/%00`, status: 404, code: 'session_not_found' },
  { name: 'end session: 300-character id', method: 'DELETE', path: `${S}/${'a'.repeat(300)}`, status: 404, code: 'session_not_found' },
  { name: 'message: 10,000-character id', method: 'POST', path: `${S}/${'b'.repeat(10_000)}/message`, json: { message: 'hi' }, status: 404, code: 'session_not_found' },
  { name: 'message (stream): undecodable id', method: 'POST', path: `${S}/%E0%A4%A/message?stream=true`, json: { message: 'hi' }, status: 404, code: 'session_not_found' },
  { name: 'read session: 20,000-character id (header overflow)', method: 'GET', path: `${S}/${'c'.repeat(20_000)}`, status: 431, code: 'bad_request' },
  { name: 'end session: the real id upper-cased', method: 'DELETE', path: (c) => `${S}/${c.sessionId.toUpperCase()}`, status: 404, code: 'session_not_found' },
  { name: 'message: a well-formed UUID nobody issued', method: 'POST', path: `${S}/00000000-0000-4000-8000-000000000000/message`, json: { message: 'hi' }, status: 404, code: 'session_not_found' },
  { name: 'message: an ended session', method: 'POST', path: (c) => `${S}/${c.endedId}/message`, json: { message: 'hello?' }, status: 409, code: 'session_ended' },
  { name: 'end session: already ended', method: 'DELETE', path: (c) => `${S}/${c.endedId}`, status: 409, code: 'session_ended' },
  { name: 'personality update: unknown id', method: 'PUT', path: `${P}/no-such-personality`, json: { description: 'x' }, status: 404, code: 'personality_not_found' },
  { name: 'personality delete: 300-character id', method: 'DELETE', path: `${P}/${'p'.repeat(300)}`, status: 404 },
  { name: 'personality update: %00 id', method: 'PUT', path: `${P}/%00`, json: { description: 'x' }, status: 404 },
  { name: 'personality delete: a shipped personality', method: 'DELETE', path: `${P}/friendly-assistant`, status: 409, code: 'personality_protected' },
  { name: 'personality create: a name whose id exists', method: 'POST', path: P, json: { name: 'Battery  Tester!', personalityPrompt: 'You test batteries again.' }, status: 409, code: 'personality_exists' },
  { name: 'PATCH is no route', method: 'PATCH', path: `${P}/friendly-assistant`, json: { description: 'x' }, status: 404, code: 'not_found' },

  // ── __proto__ and constructor keys ────────────────────────────────────────────────────────────
  { name: 'message: __proto__ key', method: 'POST', path: msg, text: '{"message":"hi","__proto__":{"isAdmin":true}}', status: 400, code: 'invalid_json' },
  { name: 'message: \\u-escaped __proto__ key', method: 'POST', path: msg, text: '{"message":"hi","\\u005f_proto__":{"isAdmin":true}}', status: 400, code: 'invalid_json' },
  { name: 'message (stream): constructor.prototype', method: 'POST', path: stream, text: '{"constructor":{"prototype":{"polluted":1}},"message":"hi"}', status: 400, code: 'invalid_json' },
  { name: 'personality create: __proto__ making it a default', method: 'POST', path: P, text: '{"name":"Proto","personalityPrompt":"p","__proto__":{"isDefault":true}}', status: 400, code: 'invalid_json' },
  { name: 'personality update: __proto__ nested in tags', method: 'PUT', path: custom, text: '{"tags":[{"__proto__":{"x":1}}]}', status: 400, code: 'invalid_json' },
  { name: 'rules: constructor.prototype', method: 'PUT', path: RULES, text: '{"rules":"r","constructor":{"prototype":{"enabled":false}}}', status: 400, code: 'invalid_json' },
  { name: 'create: user_id "__proto__"', method: 'POST', path: S, json: { user_id: '__proto__' }, status: 422, code: 'validation_error' },
  { name: 'list sessions: user_id=__proto__', method: 'GET', path: `${LIST}?user_id=__proto__`, status: 422, code: 'validation_error' },
  { name: 'personality delete: id __proto__', method: 'DELETE', path: `${P}/__proto__`, status: 404, code: 'personality_not_found' },
  { name: 'personality update: id constructor', method: 'PUT', path: `${P}/constructor`, json: { description: 'x' }, status: 404, code: 'personality_not_found' },

  // ── Control characters and invalid Unicode / UTF-8 ────────────────────────────────────────────
  { name: 'message: BEL control character', method: 'POST', path: msg, json: { message: 'ding \u0007' }, status: 422, code: 'invalid_text' },
  { name: 'message: ANSI escape sequence', method: 'POST', path: msg, json: { message: '\u001b[31mred\u001b[0m' }, status: 422, code: 'invalid_text' },
  { name: 'message (stream): NUL', method: 'POST', path: stream, json: { message: 'a\u0000b' }, status: 422, code: 'invalid_text' },
  { name: 'message (stream): lone low surrogate', method: 'POST', path: stream, text: '{"message":"\\udc00 alone"}', status: 422, code: 'invalid_text' },
  { name: 'create: user_id with a newline', method: 'POST', path: S, json: { user_id: 'u1\nadmin' }, status: 422, code: 'validation_error' },
  { name: 'personality create: NUL in the name', method: 'POST', path: P, json: { name: 'Evil\u0000Name', personalityPrompt: 'You are evil.' }, status: 422, code: 'validation_error' },
  { name: 'rules: clear-screen escape', method: 'PUT', path: RULES, json: { rules: '\u001b[2J' }, status: 422, code: 'validation_error' },
  { name: 'message: invalid UTF-8 bytes FF FE', method: 'POST', path: msg, bytes: bytes('{"message":"bad ', [0xff, 0xfe], ' bytes"}'), status: '4xx' },
  { name: 'message: overlong UTF-8 encoding of "/" (C0 AF)', method: 'POST', path: msg, bytes: bytes('{"message":"a', [0xc0, 0xaf], 'b"}'), status: '4xx' },
  { name: 'message (stream): UTF-8-encoded surrogate (ED A0 80)', method: 'POST', path: stream, bytes: bytes('{"message":"s', [0xed, 0xa0, 0x80], '"}'), status: '4xx' },
  { name: 'message: truncated UTF-8 sequence at the end of the text (E2 82)', method: 'POST', path: msg, bytes: bytes('{"message":"euro ', [0xe2, 0x82], '"}'), status: '4xx' },
  { name: 'create: invalid UTF-8 in user_id', method: 'POST', path: S, bytes: bytes('{"user_id":"u', [0xff], '"}'), status: '4xx' },
  { name: 'personality create: invalid UTF-8 in the name', method: 'POST', path: P, bytes: bytes('{"name":"Bad ', [0xff], ' Name","personalityPrompt":"You are bad."}'), status: '4xx' },
  { name: 'personality update: invalid UTF-8 in the description', method: 'PUT', path: custom, bytes: bytes('{"description":"d', [0xc3, 0x28], '"}'), status: '4xx' },
  { name: 'rules: invalid UTF-8 in the rules', method: 'PUT', path: RULES, bytes: bytes('{"rules":"r', [0xc3, 0x28], '"}'), status: '4xx' },
  { name: 'rules: lone high surrogate escape', method: 'PUT', path: RULES, text: '{"rules":"half \\ud800"}', status: '4xx' },
  { name: 'personality update: lone low surrogate escape in the description', method: 'PUT', path: custom, text: '{"description":"\\udfff"}', status: '4xx' },
  { name: 'personality create: lone surrogate escape in the prompt', method: 'POST', path: P, text: '{"name":"Surrogate","personalityPrompt":"You are half \\ud83d"}', status: '4xx' },
  {
    name: 'raw: NUL byte in a header value',
    method: 'POST',
    path: S,
    raw: () => rawRequest(`POST ${S} HTTP/1.1\r\nX-Evil: a\u0000b\r\nContent-Type: application/json\r\nContent-Length: 16`, '{"user_id":"u1"}'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'raw: both Content-Length and Transfer-Encoding (smuggling)',
    method: 'POST',
    path: S,
    raw: () =>
      rawRequest(
        `POST ${S} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 16\r\nTransfer-Encoding: chunked`,
        '10\r\n{"user_id":"u1"}\r\n0\r\n\r\n',
      ),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'raw: invalid chunk size',
    method: 'POST',
    path: S,
    raw: () => rawRequest(`POST ${S} HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked`, 'zz\r\n{"user_id":"u1"}\r\n0\r\n\r\n'),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'raw: control character in the request target',
    method: 'GET',
    path: S,
    raw: (c) => rawRequest(`GET ${S}/${c.sessionId}\u0001 HTTP/1.1`),
    status: 400,
    code: 'bad_request',
  },

  // ── SQL-looking strings ───────────────────────────────────────────────────────────────────────
  { name: "create: user_id ' OR '1'='1", method: 'POST', path: S, json: { user_id: "' OR '1'='1" }, status: 422, code: 'validation_error' },
  { name: 'create: template_id with DROP TABLE', method: 'POST', path: S, json: { user_id: 'u1', template_id: "x'; DROP TABLE personalities; --" }, status: 422, code: 'validation_error' },
  { name: 'list sessions: user_id with UNION SELECT', method: 'GET', path: `${LIST}?user_id=${encodeURIComponent("u1' UNION SELECT * FROM messages--")}`, status: 422, code: 'validation_error' },
  { name: 'list sessions: cursor 1 OR 1=1', method: 'GET', path: `${LIST}?user_id=u1&cursor=${encodeURIComponent('1 OR 1=1')}`, status: 422, code: 'validation_error' },
  { name: 'read session: before=1;DROP TABLE messages', method: 'GET', path: (c) => `${S}/${c.sessionId}?before=${encodeURIComponent('1;DROP TABLE messages')}`, status: 422, code: 'validation_error' },
  { name: "end session: id 1' OR '1'='1", method: 'DELETE', path: `${S}/${encodeURIComponent("1' OR '1'='1")}`, status: 404, code: 'session_not_found' },
  { name: 'message: SQL in the id and the text', method: 'POST', path: `${S}/${encodeURIComponent("x'; DELETE FROM messages;--")}/message`, json: { message: "'; DROP TABLE sessions; --" }, status: 404, code: 'session_not_found' },
  { name: "personality update: id friendly-assistant' OR '1'='1", method: 'PUT', path: `${P}/${encodeURIComponent("friendly-assistant' OR '1'='1")}`, json: { description: 'pwned' }, status: 404, code: 'personality_not_found' },
  { name: 'personality delete: id with a wildcard %', method: 'DELETE', path: `${P}/${encodeURIComponent('%')}`, status: 404, code: 'personality_not_found' },
  { name: 'personality create: model with DROP TABLE', method: 'POST', path: P, json: { ...validPersonality, model: "gpt'; DROP TABLE x;--" }, status: 422, code: 'validation_error' },

  // ── Path-looking strings ──────────────────────────────────────────────────────────────────────
  { name: 'read session: encoded ../../../etc/passwd', method: 'GET', path: `${S}/..%2F..%2F..%2Fetc%2Fpasswd`, status: 404, code: 'session_not_found' },
  { name: 'end session: encoded ../sessions', method: 'DELETE', path: `${S}/..%2Fsessions`, status: 404, code: 'session_not_found' },
  { name: 'message: id with slashes ....//....//etc', method: 'POST', path: `${S}/....//....//etc/message`, json: { message: 'hi' }, status: 404, code: 'session_not_found' },
  { name: 'create: template_id ../../etc/passwd', method: 'POST', path: S, json: { user_id: 'u1', template_id: '../../etc/passwd' }, status: 422, code: 'validation_error' },
  { name: 'create: user_id C:\\Windows\\System32', method: 'POST', path: S, json: { user_id: 'C:\\Windows\\System32' }, status: 422, code: 'validation_error' },
  { name: 'personality update: id ../settings/universal-rules (encoded)', method: 'PUT', path: `${P}/..%2Fsettings%2Funiversal-rules`, json: { description: 'x' }, status: 404, code: 'personality_not_found' },
  { name: 'personality create: model ../../etc/passwd', method: 'POST', path: P, json: { ...validPersonality, model: '../../etc/passwd' }, status: 422, code: 'validation_error' },
  {
    name: 'raw: unnormalised /../ in the request target',
    method: 'DELETE',
    path: S,
    raw: (c) => rawRequest(`DELETE ${S}/${c.sessionId}/../${c.endedId}/x HTTP/1.1`),
    status: 404,
    code: 'session_not_found',
  },

  // ── People: malformed JSON ────────────────────────────────────────────────────────────────────
  { name: 'connections create: truncated JSON', method: 'POST', path: C, text: `{"user1_id":"${ALICE}","user2_id":"${BOB}"`, status: 400, code: 'invalid_json' },
  { name: 'connections send: trailing comma', method: 'POST', path: connMessages, text: `{"sender_id":"${ALICE}","content":"hi",}`, status: 400, code: 'invalid_json' },
  { name: 'connections read receipt: not JSON at all', method: 'POST', path: connRead, text: 'up_to=1', status: 400, code: 'invalid_json' },
  { name: 'push register: single-quoted strings', method: 'POST', path: PUSH, text: `{'user_id':'${ALICE}','kind':'fcm','token':'t'}`, status: 400, code: 'invalid_json' },

  // ── People: wrong types ───────────────────────────────────────────────────────────────────────
  { name: 'connections create: user2_id is an array', method: 'POST', path: C, json: { user1_id: ALICE, user2_id: [BOB] }, status: 422, code: 'validation_error' },
  { name: 'connections create: user1_id is a NoSQL operator object', method: 'POST', path: C, json: { user1_id: { $ne: null }, user2_id: BOB }, status: 422, code: 'validation_error' },
  { name: 'connections create: user2_id is null', method: 'POST', path: C, json: { user1_id: ALICE, user2_id: null }, status: 422, code: 'validation_error' },
  { name: 'connections create: user1_id is a number', method: 'POST', path: C, json: { user1_id: 12345, user2_id: BOB }, status: 422, code: 'validation_error' },
  { name: 'connections create: the same user twice', method: 'POST', path: C, json: { user1_id: ALICE, user2_id: ALICE }, status: 422, code: 'same_user' },
  { name: 'connections send: sender_id is a number', method: 'POST', path: connMessages, json: { sender_id: 1, content: 'hi' }, status: 422, code: 'validation_error' },
  { name: 'connections send: content is a number', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: 42 }, status: 422, code: 'validation_error' },
  { name: 'connections send: content is an array', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: ['hi'] }, status: 422, code: 'validation_error' },
  { name: 'connections send: content is an object', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: { text: 'hi' } }, status: 422, code: 'validation_error' },
  { name: 'connections read receipt: up_to is the string "1"', method: 'POST', path: connRead, json: { user_id: BOB, up_to: '1' }, status: 422, code: 'validation_error' },
  { name: 'connections read receipt: up_to is fractional', method: 'POST', path: connRead, json: { user_id: BOB, up_to: 0.5 }, status: 422, code: 'validation_error' },
  { name: 'connections read receipt: up_to is negative', method: 'POST', path: connRead, json: { user_id: BOB, up_to: -1 }, status: 422, code: 'validation_error' },
  { name: 'connections read receipt: up_to is 2^63', method: 'POST', path: connRead, text: `{"user_id":"${BOB}","up_to":9223372036854775808}`, status: 422, code: 'validation_error' },
  { name: 'connections read receipt: up_to past the newest message', method: 'POST', path: connRead, json: { user_id: BOB, up_to: 2 }, status: 422, code: 'invalid_read_position' },

  // ── People: invalid user ids ──────────────────────────────────────────────────────────────────
  { name: 'connections create: user2_id with a space', method: 'POST', path: C, json: { user1_id: ALICE, user2_id: 'battery bob' }, status: 422, code: 'validation_error' },
  { name: 'connections create: user2_id with a control character', method: 'POST', path: C, json: { user1_id: ALICE, user2_id: 'bob\u0007' }, status: 422, code: 'validation_error' },
  { name: 'connections create: 129-character user2_id', method: 'POST', path: C, json: { user1_id: ALICE, user2_id: 'b'.repeat(129) }, status: 422, code: 'validation_error' },
  { name: 'connections create: user2_id ../../etc/passwd', method: 'POST', path: C, json: { user1_id: ALICE, user2_id: '../../etc/passwd' }, status: 422, code: 'validation_error' },
  { name: "connections create: user2_id ' OR '1'='1", method: 'POST', path: C, json: { user1_id: ALICE, user2_id: "' OR '1'='1" }, status: 422, code: 'validation_error' },

  // ── People: message text ──────────────────────────────────────────────────────────────────────
  { name: 'connections send: empty content', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: '' }, status: 422, code: 'validation_error' },
  { name: 'connections send: whitespace-only content', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: ' \n\t ' }, status: 422, code: 'invalid_text' },
  { name: 'connections send: one character over PEOPLE_MAX_MESSAGE_LENGTH', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: 'm'.repeat(PEOPLE_MAX_MESSAGE + 1) }, status: 422, code: 'message_too_long' },
  { name: 'connections send: ANSI escape sequence', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: '\u001b[31mred\u001b[0m' }, status: 422, code: 'invalid_text' },
  { name: 'connections send: lone high surrogate escape', method: 'POST', path: connMessages, text: `{"sender_id":"${ALICE}","content":"half \\ud800"}`, status: 422, code: 'invalid_text' },
  { name: 'connections send: invalid UTF-8 bytes FF FE', method: 'POST', path: connMessages, bytes: bytes(`{"sender_id":"${ALICE}","content":"bad `, [0xff, 0xfe], ' bytes"}'), status: '4xx' },
  { name: 'connections send: 300 KB content', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: 'x'.repeat(300_000) }, status: 413, code: 'payload_too_large' },

  // ── People: __proto__ and constructor keys ────────────────────────────────────────────────────
  { name: 'connections send: __proto__ key', method: 'POST', path: connMessages, text: `{"sender_id":"${ALICE}","content":"hi","__proto__":{"sender_id":"${BOB}"}}`, status: 400, code: 'invalid_json' },
  { name: 'connections create: constructor.prototype', method: 'POST', path: C, text: `{"user1_id":"${ALICE}","user2_id":"${MALLORY}","constructor":{"prototype":{"status":"ended"}}}`, status: 400, code: 'invalid_json' },
  { name: 'push register: __proto__ inside the subscription', method: 'POST', path: PUSH, text: `{"user_id":"${ALICE}","kind":"webpush","subscription":{"__proto__":{"endpoint":"https://169.254.169.254/x"}}}`, status: 400, code: 'invalid_json' },

  // ── People: not one of the two users, unknown and ended connections ───────────────────────────
  { name: 'connections read: a user who is not one of the two', method: 'GET', path: (c) => `${conn(c)}?user_id=${MALLORY}`, status: 404, code: 'connection_not_found' },
  { name: 'connections send: a sender who is not one of the two', method: 'POST', path: connMessages, json: { sender_id: MALLORY, content: 'let me in' }, status: 404, code: 'connection_not_found' },
  { name: 'connections messages: a reader who is not one of the two', method: 'GET', path: (c) => `${connMessages(c)}?user_id=${MALLORY}`, status: 404, code: 'connection_not_found' },
  { name: 'connections read receipt: a user who is not one of the two', method: 'POST', path: connRead, json: { user_id: MALLORY, up_to: 1 }, status: 404, code: 'connection_not_found' },
  { name: 'connections end: a user who is not one of the two', method: 'DELETE', path: (c) => `${conn(c)}?user_id=${MALLORY}`, status: 404, code: 'connection_not_found' },
  { name: 'connections send: a well-formed UUID nobody issued', method: 'POST', path: `${C}/00000000-0000-4000-8000-000000000000/messages`, json: { sender_id: ALICE, content: 'hi' }, status: 404, code: 'connection_not_found' },
  { name: 'connections read: not a UUID', method: 'GET', path: `${C}/not-a-uuid?user_id=${ALICE}`, status: 404, code: 'connection_not_found' },
  { name: 'connections end: encoded ../../etc/passwd id', method: 'DELETE', path: `${C}/..%2F..%2Fetc%2Fpasswd?user_id=${ALICE}`, status: 404, code: 'connection_not_found' },
  { name: "connections messages: id 1' OR '1'='1", method: 'GET', path: `${C}/${encodeURIComponent("1' OR '1'='1")}/messages?user_id=${ALICE}`, status: 404, code: 'connection_not_found' },
  { name: 'connections send: the ended connection', method: 'POST', path: (c) => `${endedConn(c)}/messages`, json: { sender_id: ALICE, content: 'still there?' }, status: 409, code: 'connection_ended' },
  { name: 'connections send: the ended connection, with a fresh Idempotency-Key', method: 'POST', path: (c) => `${endedConn(c)}/messages`, json: { sender_id: ALICE, content: 'still there?' }, headers: { 'idempotency-key': 'battery-fresh-key' }, status: 409, code: 'connection_ended' },
  { name: 'connections end: already ended', method: 'DELETE', path: (c) => `${endedConn(c)}?user_id=${ALICE}`, status: 409, code: 'connection_ended' },

  // ── People: Idempotency-Key ───────────────────────────────────────────────────────────────────
  { name: 'connections send: Idempotency-Key with a space', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: 'hi' }, headers: { 'idempotency-key': 'two words' }, status: 422, code: 'invalid_idempotency_key' },
  { name: 'connections send: 256-character Idempotency-Key', method: 'POST', path: connMessages, json: { sender_id: ALICE, content: 'hi' }, headers: { 'idempotency-key': 'k'.repeat(256) }, status: 422, code: 'invalid_idempotency_key' },

  // ── People: query parameters ──────────────────────────────────────────────────────────────────
  { name: 'connections list: limit=0', method: 'GET', path: `${C}?user_id=${ALICE}&limit=0`, status: 422, code: 'validation_error' },
  { name: 'connections list: limit=abc', method: 'GET', path: `${C}?user_id=${ALICE}&limit=abc`, status: 422, code: 'validation_error' },
  { name: 'connections list: status=deleted', method: 'GET', path: `${C}?user_id=${ALICE}&status=deleted`, status: 422, code: 'validation_error' },
  { name: 'connections list: user_id with UNION SELECT', method: 'GET', path: `${C}?user_id=${encodeURIComponent("a' UNION SELECT * FROM connections--")}`, status: 422, code: 'validation_error' },
  { name: 'connections list: no user_id', method: 'GET', path: `${C}?limit=5`, status: 422, code: 'user_required' },
  { name: 'connections messages: limit=501', method: 'GET', path: (c) => `${connMessages(c)}?user_id=${ALICE}&limit=501`, status: 422, code: 'validation_error' },
  { name: 'connections messages: after=-1', method: 'GET', path: (c) => `${connMessages(c)}?user_id=${ALICE}&after=-1`, status: 422, code: 'validation_error' },
  { name: 'connections read: user_id with a space', method: 'GET', path: (c) => `${conn(c)}?user_id=battery%20alice`, status: 422, code: 'validation_error' },

  // ── People: push subscriptions ────────────────────────────────────────────────────────────────
  { name: 'push register: unknown kind', method: 'POST', path: PUSH, json: { user_id: ALICE, kind: 'apns', token: 't' }, status: 422, code: 'validation_error' },
  { name: 'push register: webpush without a subscription', method: 'POST', path: PUSH, json: { user_id: ALICE, kind: 'webpush', token: 't' }, status: 422, code: 'invalid_push_target' },
  { name: 'push register: fcm without a token', method: 'POST', path: PUSH, json: { user_id: ALICE, kind: 'fcm' }, status: 422, code: 'invalid_push_target' },
  { name: 'push register: endpoint at the cloud metadata address', method: 'POST', path: PUSH, json: webPush('https://169.254.169.254/x'), status: 422, code: 'invalid_push_target' },
  { name: 'push register: endpoint with credentials in front of a push host', method: 'POST', path: PUSH, json: webPush('https://fcm.googleapis.com@169.254.169.254/x'), status: 422, code: 'invalid_push_target' },
  { name: 'push register: plain-http push endpoint', method: 'POST', path: PUSH, json: webPush('http://fcm.googleapis.com/fcm/send/x'), status: 422, code: 'invalid_push_target' },
  { name: 'push register: FCM token with control characters', method: 'POST', path: PUSH, json: { user_id: ALICE, kind: 'fcm', token: 'tok\u0000en\u001b[2J' }, status: '4xx' },
  { name: 'push register: no user_id', method: 'POST', path: PUSH, json: { kind: 'fcm', token: 'battery-token-2' }, status: 422, code: 'user_required' },
  { name: 'push delete: an id nobody registered', method: 'DELETE', path: `${PUSH}/0123456789abcdef0123456789abcdef?user_id=${ALICE}`, status: 404, code: 'push_target_not_found' },
  { name: "push delete: another user's device", method: 'DELETE', path: (c) => `${PUSH}/${c.pushId}?user_id=${BOB}`, status: 404, code: 'push_target_not_found' },

  // ── People: the live WebSocket ────────────────────────────────────────────────────────────────
  { name: 'ws: a plain GET without upgrade headers', method: 'GET', path: `${WS}?user_id=${ALICE}`, status: '4xx' },
  { name: 'ws upgrade: no user_id', method: 'GET', path: WS, upgrade: true, status: 422, code: 'user_required' },
  { name: 'ws upgrade: user_id with a space', method: 'GET', path: `${WS}?user_id=battery%20alice`, upgrade: true, status: 422, code: 'validation_error' },
  { name: 'ws upgrade: malformed after', method: 'GET', path: `${WS}?user_id=${ALICE}&after=1;DROP`, upgrade: true, status: 422, code: 'validation_error' },
  { name: 'ws upgrade: after with a seq of more than 10 digits', method: 'GET', path: `${WS}?user_id=${ALICE}&after=12345678901`, upgrade: true, status: 422, code: 'validation_error' },
  { name: 'ws upgrade: a connection the user is not part of', method: 'GET', path: (c) => `${WS}?user_id=${MALLORY}&connection_id=${c.connectionId}`, upgrade: true, status: 404, code: 'connection_not_found' },
  { name: 'ws upgrade: connection_id not a UUID', method: 'GET', path: `${WS}?user_id=${ALICE}&connection_id=..%2F..%2Fetc`, upgrade: true, status: 404, code: 'connection_not_found' },
];

interface Answer {
  status: number;
  contentType: string | null;
  body: unknown;
}

/** Writes a whole request to a socket and reads the answer until the server closes it. */
function sendRaw(baseUrl: string, request: Buffer): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname, () => socket.end(request));
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close while we still write a body it refused: keep what it answered.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return;
      reject(error);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const head = text.slice(0, split).split('\r\n');
      const headers = new Map(head.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      let body = text.slice(split + 4);
      if (headers.get('transfer-encoding') === 'chunked') body = dechunk(body);
      resolve({ status: Number(head[0]?.split(' ')[1]), contentType: headers.get('content-type') ?? null, body: parseJson(body) });
    });
  });
}

/**
 * Opens a WebSocket to `url`. A refused upgrade is an ordinary HTTP answer; an accepted one is
 * reported as status 101 (and closed), so the case fails with what happened.
 */
function sendUpgrade(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    socket.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      const done = () => {
        socket.terminate();
        const contentType = response.headers['content-type'] ?? null;
        resolve({ status: response.statusCode ?? 0, contentType, body: parseJson(Buffer.concat(chunks).toString('utf8')) });
      };
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', done);
      response.on('error', done); // the server drops the socket once it has answered
    });
    socket.on('open', () => {
      socket.close();
      resolve({ status: 101, contentType: null, body: 'upgraded to a WebSocket' });
    });
    socket.on('error', reject);
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const hash = (data: Buffer | null) => (data ? createHash('sha256').update(data).digest('hex') : 'absent');

/** What "the store" is: every row, and the raw bytes of the database file and its WAL. */
interface StoreState {
  dump: string;
  db: string;
  wal: string;
}

function storeState(path: string): StoreState {
  const read = (p: string) => (existsSync(p) ? readFileSync(p) : null);
  // The -shm file is left out: it is SQLite's shared-memory index, which readers (dumpDatabase
  // included) touch without any change to the data. The main file and the WAL hold all the data.
  return { dump: dumpDatabase(path), db: hash(read(path)), wal: hash(read(`${path}-wal`)) };
}

/** The tables whose rows differ between two dumps (dumpDatabase writes one line per table). */
function changedTables(before: string, after: string): string[] {
  const rows = (dump: string) => new Map(dump.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line]));
  const a = rows(before);
  const b = rows(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((table) => a.get(table) !== b.get(table)).sort();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The store once it is idle: writes go through a writer thread, so a write a request might have
 * queued lands shortly after it. Reads until two reads 30 ms apart agree (at most ~1.5 s).
 */
async function settledState(path: string): Promise<StoreState> {
  let last = storeState(path);
  for (let i = 0; i < 50; i++) {
    await sleep(30);
    const now = storeState(path);
    if (now.dump === last.dump && now.db === last.db && now.wal === last.wal) return now;
    last = now;
  }
  return last;
}

describe('bad-input battery: every bad request gets a 4xx with the error shape and changes nothing', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  const ctx: Ctx = { sessionId: '', endedId: '', personalityId: '', connectionId: '', endedConnectionId: '', pushId: '' };
  let baseline: StoreState;

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    ctx.sessionId = await server.createSession('user_battery');
    expect((await server.send(ctx.sessionId, 'hello')).status).toBe(200);
    ctx.endedId = await server.createSession('user_battery');
    expect((await server.del(`${S}/${ctx.endedId}`)).status).toBe(200);
    const created = await server.post(P, { name: 'Battery Tester', personalityPrompt: 'You test batteries.' });
    expect(created.status).toBe(201);
    ctx.personalityId = created.body.id;
    expect((await server.put(RULES, { rules: 'Be kind.' })).status).toBe(200);

    const active = await server.post(C, { user1_id: ALICE, user2_id: BOB });
    expect(active.status).toBe(201);
    ctx.connectionId = active.body.id;
    expect((await server.post(`${C}/${ctx.connectionId}/messages`, { sender_id: ALICE, content: 'Hi Bob!' })).status).toBe(201);
    const ended = await server.post(C, { user1_id: ALICE, user2_id: CAROL });
    expect(ended.status).toBe(201);
    ctx.endedConnectionId = ended.body.id;
    expect((await server.post(`${C}/${ctx.endedConnectionId}/messages`, { sender_id: CAROL, content: 'Bye Alice.' })).status).toBe(201);
    expect((await server.del(`${C}/${ctx.endedConnectionId}?user_id=${CAROL}`)).status).toBe(200);
    const device = await server.post(PUSH, { user_id: ALICE, kind: 'fcm', token: 'battery-fcm-token' });
    expect(device.status).toBe(201);
    ctx.pushId = device.body.id;

    baseline = await settledState(server.databasePath);
  });

  afterAll(async () => {
    await server?.close();
    await model?.close();
  });

  async function call(c: BadCase): Promise<Answer> {
    if (c.raw) return sendRaw(server.baseUrl, c.raw(ctx));
    const path = typeof c.path === 'function' ? c.path(ctx) : c.path;
    if (c.upgrade) return sendUpgrade(server.baseUrl.replace(/^http/, 'ws') + path);
    const headers: Record<string, string> = { 'content-type': 'application/json', ...c.headers };
    const body = c.bytes ?? c.text ?? (c.json === undefined ? undefined : JSON.stringify(c.json));
    const res = await fetch(server.baseUrl + path, { method: c.method, headers, body });
    return { status: res.status, contentType: res.headers.get('content-type'), body: parseJson(await res.text()) };
  }

  it(`has at least 40 distinct cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  for (const c of cases) it(`${c.method} ${c.name}`, async () => {
    const before = await settledState(server.databasePath);
    const modelCalls = model.attempts;

    const answer = await call(c);
    const seen = { status: answer.status, body: answer.body };

    // A client error with exactly the documented body.
    expect(answer.status, JSON.stringify(seen)).toBeGreaterThanOrEqual(400);
    expect(answer.status, JSON.stringify(seen)).toBeLessThan(500);
    if (c.status !== '4xx') expect(answer.status, JSON.stringify(seen)).toBe(c.status);
    expect(answer.contentType ?? '').toMatch(/^application\/json/);
    expect(answer.body).toEqual({
      success: false,
      error: { code: c.code ?? expect.stringMatching(/^[a-z]+(_[a-z]+)*$/), message: expect.any(String) },
      detail: expect.any(String),
    });
    const { code, message } = (answer.body as { error: { code: string; message: string } }).error;
    expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(message.trim()).not.toBe('');
    // FastAPI's `detail`, for clients written for the original service: the same words.
    expect((answer.body as { detail: string }).detail).toBe(message);
    expect(Object.keys(answer.body as object).sort()).toEqual(['detail', 'error', 'success']);
    expect(Object.keys((answer.body as { error: object }).error).sort()).toEqual(['code', 'message']);

    // The server stays healthy, the model was never asked, the store is exactly as it was.
    const health = await fetch(`${server.baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(model.attempts).toBe(modelCalls);
    const after = await settledState(server.databasePath);
    expect(changedTables(before.dump, after.dump), 'tables whose rows changed').toEqual([]);
    expect(after.db, 'main database file bytes').toBe(before.db);
    expect(after.wal, 'WAL file bytes').toBe(before.wal);
  });

  it('leaves the store exactly as it was before the battery, and the server ready and working', async () => {
    const after = await settledState(server.databasePath);
    expect(changedTables(baseline.dump, after.dump), 'tables whose rows changed').toEqual([]);
    expect(after.dump).toBe(baseline.dump);
    expect(after.db, 'main database file bytes').toBe(baseline.db);
    expect(after.wal, 'WAL file bytes').toBe(baseline.wal);
    expect((await server.get('/ready')).status).toBe(200);
    // The real session still works and kept its one exchange.
    const read = await server.get(`${S}/${ctx.sessionId}`);
    expect(read.status).toBe(200);
    expect(read.body.status).toBe('active');
    expect(read.body.message_count).toBe(1);
    expect((await server.send(ctx.sessionId, 'still here?')).status).toBe(200);
    // The connections kept their state: the active one its one message, the ended one ended.
    const messages = await server.get(`${C}/${ctx.connectionId}/messages?user_id=${BOB}`);
    expect(messages.status).toBe(200);
    expect(messages.body.map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([[1, 'Hi Bob!']]);
    expect((await server.get(`${C}/${ctx.endedConnectionId}?user_id=${ALICE}`)).body.status).toBe('ended');
  });
});
