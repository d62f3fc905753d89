import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyServer } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { LiveClient } from './support/live-client.js';

/**
 * Text that shows nothing is refused wherever people type it: messages to a personality, messages
 * to a person (HTTP and the live socket) and personality names on create and update. Text that
 * merely contains such characters, next to visible ones, is taken as it is.
 */

/** [what it is, text]: nothing here shows a character, alone or together. */
const INVISIBLE: [string, string][] = [
  ['spaces', '   '],
  ['tab and newlines', '\t\r\n'],
  ['no-break space', '\u00a0'],
  ['ideographic space', '\u3000'],
  ['line separator', '\u2028'],
  ['zero-width space', '\u200b'],
  ['zero-width non-joiner', '\u200c'],
  ['zero-width joiner', '\u200d'],
  ['word joiner', '\u2060'],
  ['invisible times', '\u2062'],
  ['byte order mark', '\ufeff'],
  ['Mongolian vowel separator', '\u180e'],
  ['bidi isolates', '\u2066\u2067\u2068\u2069'],
  ['bidi embeddings and overrides', '\u202a\u202b\u202c\u202d\u202e'],
  ['left-to-right mark', '\u200e'],
  ['right-to-left mark', '\u200f'],
  ['Arabic letter mark', '\u061c'],
  ['Hangul filler', '\u3164'],
  ['Hangul choseong and jungseong fillers', '\u115f\u1160'],
  ['halfwidth Hangul filler', '\uffa0'],
  ['soft hyphen', '\u00ad'],
  ['variation selectors', '\ufe00\ufe0f'],
  ['supplementary variation selector', '\u{e0100}'],
  ['combining acute accent alone', '\u0301'],
  ['combining keycap alone', '\u20e3'],
  ['combining grapheme joiner', '\u034f'],
  ['Braille blank', '\u2800'],
  ['tag characters', '\u{e0001}\u{e0041}\u{e007f}'],
  ['interlinear annotation anchor', '\ufff9'],
  ['a mix of them all', ' \u200b\u200d\u2060\ufeff\u00ad\u3164\u2800\u034f\u200f\u2066 '],
];

/** [what it is, text]: each shows something, some with invisible characters inside. */
const VISIBLE: [string, string][] = [
  ['a word', 'hello'],
  ['a full stop', '.'],
  ['an emoji', '😀'],
  ['an emoji with a variation selector', '❤️'],
  ['a ZWJ emoji sequence', '👩‍💻'],
  ['a keycap emoji', '1️⃣'],
  ['a flag', '🇯🇵'],
  ['CJK', '中文'],
  ['Hangul', '한국어'],
  ['Arabic with a right-to-left mark inside', 'مرحبا\u200fبك'],
  ['a letter with a combining accent', 'e\u0301'],
  ['a zero-width space before a letter', '\u200bx'],
  ['a Braille letter after a Braille blank', '\u2800\u2801'],
];

describe('text with no visible character', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let sessionId: string;
  let connectionId: string;
  let personalityId: string;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    model = await FakeOpenAi.start();
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    sessionId = await server.createSession('ink_user');
    connectionId = (await server.post('/api/v1/connections', { user1_id: 'ink_amy', user2_id: 'ink_ben' })).body.id;
    const created = await server.post('/api/v1/personalities', { name: 'Ink Test', personalityPrompt: 'Be brief, please.' });
    expect(created.status).toBe(201);
    personalityId = created.body.id;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  /** Amy's live socket, a fresh one every 15 frames: a socket may send a burst of 20, then 5 a second. */
  const amysSocket = async (frame: number) => {
    if (frame % 15 === 0) {
      await clients.pop()?.close();
      clients.push(await LiveClient.connect(server.baseUrl, { user_id: 'ink_amy' }));
    }
    return clients.at(-1)!;
  };
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('is refused with 422 for messages to a personality, streamed or not, and nothing is stored or sent to the model', async () => {
    const calls = model.requests.length;
    for (const [what, text] of INVISIBLE) {
      const plain = await server.post(`/api/v1/chatbot/session/${sessionId}/message`, { message: text });
      expect([what, plain.status, plain.body.error?.code]).toEqual([what, 422, 'invalid_text']);
      const streamed = await server.request('POST', `/api/v1/chatbot/session/${sessionId}/message`, { message: text }, { accept: 'text/event-stream' });
      expect([what, streamed.status, streamed.body.error?.code]).toEqual([what, 422, 'invalid_text']);
    }
    expect(model.requests.length).toBe(calls);
    expect((await server.get(`/api/v1/chatbot/session/${sessionId}`)).body.message_count).toBe(0);
  });

  it('is refused with 422 for messages to a person, over HTTP and the live socket, and nothing is stored', async () => {
    for (const [i, [what, text]] of INVISIBLE.entries()) {
      const amy = await amysSocket(i);
      const res = await server.post(`/api/v1/connections/${connectionId}/messages`, { sender_id: 'ink_amy', content: text });
      expect([what, res.status, res.body.error?.code]).toEqual([what, 422, 'invalid_text']);
      amy.send({ type: 'send', connection_id: connectionId, content: text, client_id: `blank-${i}` });
      const answer = await amy.next((f) => f.client_id === `blank-${i}`);
      expect([what, answer.type, answer.error?.code]).toEqual([what, 'error', 'invalid_text']);
    }
    expect((await server.get(`/api/v1/connections/${connectionId}/messages`)).body).toEqual([]);
  });

  it('is refused with 422 as a personality name, on create and on update alike, and nothing changes', async () => {
    const before = (await server.get('/api/v1/personalities')).body;
    for (const [what, text] of INVISIBLE) {
      const created = await server.post('/api/v1/personalities', { name: text, personalityPrompt: 'Be brief, please.' });
      expect([what, created.status, created.body.error?.code]).toEqual([what, 422, 'invalid_name']);
      const updated = await server.request('PUT', `/api/v1/personalities/${personalityId}`, { name: text });
      expect([what, updated.status, updated.body.error?.code]).toEqual([what, 422, 'invalid_name']);
    }
    expect((await server.get('/api/v1/personalities')).body).toEqual(before);
  });

  it('is not what text with visible characters is: each is taken and stored exactly as sent', async () => {
    for (const [i, [what, text]] of VISIBLE.entries()) {
      const amy = await amysSocket(i);
      const chat = await server.post(`/api/v1/chatbot/session/${sessionId}/message`, { message: text });
      expect([what, chat.status]).toEqual([what, 200]);
      const person = await server.post(`/api/v1/connections/${connectionId}/messages`, { sender_id: 'ink_amy', content: text });
      expect([what, person.status, person.body.content]).toEqual([what, 201, text]);
      amy.send({ type: 'send', connection_id: connectionId, content: text, client_id: `visible-${i}` });
      const sent = await amy.next((f) => f.client_id === `visible-${i}`);
      expect([what, sent.type, sent.message?.content]).toEqual([what, 'sent', text]);
      const updated = await server.request('PUT', `/api/v1/personalities/${personalityId}`, { name: text });
      expect([what, updated.status, updated.body.name]).toEqual([what, 200, text]);
      const created = await server.post('/api/v1/personalities', { name: text, personalityPrompt: 'Be brief, please.' });
      expect([what, created.status, created.body.name]).toEqual([what, 201, text]);
    }
    const history = (await server.get(`/api/v1/chatbot/session/${sessionId}?limit=100`)).body.conversation_history;
    expect(history.filter((m: any) => m.role === 'user').map((m: any) => m.content)).toEqual(VISIBLE.map(([, text]) => text));
  });
});
