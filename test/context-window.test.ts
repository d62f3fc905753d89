import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGE_FRAMING_TOKENS, selectContext, type ContextMessage } from '../src/chat/context-window.js';
import { SHIPPED_PERSONALITIES } from '../src/chat/default-personalities.js';
import { countTokens } from '../src/chat/token-count.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { ChatifyServer } from './support/chatify-server.js';

/** Alternating user/assistant history, `n` messages, each costing `tokens`. */
function history(n: number, tokens = 10): ContextMessage[] {
  return Array.from({ length: n }, (_, i) => ({
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: `m${i}`,
    tokens,
  }));
}
const next: ContextMessage = { role: 'user', content: 'new', tokens: 10 };
const cost = 10 + MESSAGE_FRAMING_TOKENS;

describe('selectContext', () => {
  it('keeps everything, in order, when it fits', () => {
    const chosen = selectContext(history(4), next, 0, { maxTokens: 10_000, maxMessages: 20 });
    expect(chosen.map((m) => m.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'new']);
  });

  it('sends at most maxMessages, the new one included, never starting on an assistant turn', () => {
    const chosen = selectContext(history(10), next, 0, { maxTokens: 10_000, maxMessages: 4 });
    // The newest three are m7 (assistant), m8, m9: m7 would open the context, so it is dropped.
    expect(chosen.map((m) => m.content)).toEqual(['m8', 'm9', 'new']);
    const five = selectContext(history(10), next, 0, { maxTokens: 10_000, maxMessages: 5 });
    expect(five.map((m) => m.content)).toEqual(['m6', 'm7', 'm8', 'm9', 'new']);
  });

  it('stops at the token budget, counting the system prompt', () => {
    const systemTokens = 100;
    const chosen = selectContext(history(10), next, systemTokens, { maxTokens: systemTokens + cost * 4, maxMessages: 20 });
    // Budget after the new message: three more; the oldest of those is an assistant turn.
    expect(chosen.map((m) => m.content)).toEqual(['m8', 'm9', 'new']);
    const total = systemTokens + chosen.reduce((sum, m) => sum + m.tokens + MESSAGE_FRAMING_TOKENS, 0);
    expect(total).toBeLessThanOrEqual(systemTokens + cost * 4);
  });

  it('always includes the new user message, even past the budget', () => {
    const huge: ContextMessage = { role: 'user', content: 'huge', tokens: 50_000 };
    expect(selectContext(history(6), huge, 500, { maxTokens: 1000, maxMessages: 20 })).toEqual([huge]);
    expect(selectContext([], next, 0, { maxTokens: 1, maxMessages: 1 })).toEqual([next]);
  });

  it('does not skip an old message to fit a newer-but-older one: the context is a contiguous tail', () => {
    const mixed: ContextMessage[] = [
      { role: 'user', content: 'small-old', tokens: 1 },
      { role: 'assistant', content: 'big', tokens: 500 },
      { role: 'user', content: 'small', tokens: 1 },
      { role: 'assistant', content: 'small-reply', tokens: 1 },
    ];
    const chosen = selectContext(mixed, next, 0, { maxTokens: 200, maxMessages: 20 });
    expect(chosen.map((m) => m.content)).toEqual(['small', 'small-reply', 'new']);
  });

  it('counts tokens with the tokenizer, special-token text included', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('Hello world')).toBe(2);
    expect(countTokens('a <|endoftext|> b')).toBeGreaterThan(3);
  });
});

describe('the context the model receives', () => {
  let model: FakeOpenAi;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
  });
  afterAll(() => model.close());

  it('is bounded by CONTEXT_MAX_MESSAGES, system prompt first', async () => {
    const server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { CONTEXT_MAX_MESSAGES: '4', CONTEXT_SUMMARY: 'false' }));
    try {
      const id = await server.createSession('user_window');
      for (let i = 1; i <= 5; i++) await server.send(id, `q${i}`);
      const last = model.requests.at(-1)!;
      expect(last.messages[0]!.role).toBe('system');
      expect(last.messages.slice(1)).toEqual([
        { role: 'user', content: 'q4' },
        { role: 'assistant', content: 'Reply to: q4' },
        { role: 'user', content: 'q5' },
      ]);
    } finally {
      await server.close();
    }
  });

  it('is bounded by CONTEXT_MAX_TOKENS, with each message counted once and stored', async () => {
    const system = SHIPPED_PERSONALITIES.find((p) => p.id === 'friendly-assistant')!.personalityPrompt;
    const systemTokens = countTokens(system);
    const word = 'lorem ipsum dolor sit amet '; // five tokens
    const longText = (n: number) => word.repeat(n).trim();
    const budget = systemTokens + 3 * (countTokens(longText(20)) + MESSAGE_FRAMING_TOKENS) + 2;
    model.reply = () => longText(20);
    const server = await ChatifyServer.start(
      ChatifyServer.modelEnv(model.url, { CONTEXT_MAX_TOKENS: String(budget), CONTEXT_MAX_MESSAGES: '100' }),
    );
    try {
      const id = await server.createSession('user_budget');
      for (let i = 1; i <= 4; i++) await server.send(id, `${i} ${longText(19)}`);
      const last = model.requests.at(-1)!;
      // Three long messages fit: new user message, previous reply, previous question... but never an assistant first.
      expect(last.messages.slice(1).map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
      expect(last.messages.at(-1)!.content.startsWith('4 ')).toBe(true);
      const tokens = last.messages.reduce((sum, m) => sum + countTokens(m.content) + MESSAGE_FRAMING_TOKENS, 0);
      expect(tokens - MESSAGE_FRAMING_TOKENS).toBeLessThanOrEqual(budget);
      const db = new Database(server.databasePath, { readonly: true });
      const rows = db.prepare('SELECT content, tokens FROM messages').all() as { content: string; tokens: number }[];
      db.close();
      expect(rows).toHaveLength(8);
      for (const row of rows) expect(row.tokens).toBe(countTokens(row.content));
    } finally {
      model.reply = (request) => `Reply to: ${request.messages.at(-1)!.content}`;
      await server.close();
    }
  });
});
