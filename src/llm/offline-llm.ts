import type { Completion, CompletionRequest, Llm } from '../chat/llm.js';

/** A few words of each shipped personality's voice; others fall back to a neutral one. */
const VOICES: Record<string, readonly string[]> = {
  'friendly-assistant': ['Happy to chat!', 'Love that question.', 'Good to hear from you!'],
  'socratic-tutor': ['What do you think the first step is?', 'Why might that be?', 'What do you already know about it?'],
  'creative-muse': ['Ooh, imagine the possibilities!', 'What if it were the other way round?', 'There is a story in that.'],
  'calm-listener': ['I hear you.', 'That sounds like a lot.', 'Take your time.'],
  'code-mentor': ['Let us look at the error first.', 'Start with a small test case.', 'Check the inputs at the boundary.'],
  'travel-buddy': ['Pack light!', 'Sounds like an adventure.', 'Off-season is underrated.'],
  'language-partner': ['Good practice!', 'Let us keep going.', 'Nice sentence!'],
};
const NEUTRAL = ['Thanks for your message.', 'Interesting!', 'Tell me more.'];

/**
 * Replies without any model, so Chatify runs out of the box: short, deterministic (same input, same
 * reply) and in the personality's voice. Never used when an API key is configured.
 */
export class OfflineLlm implements Llm {
  readonly provider = 'offline';

  async complete(request: CompletionRequest): Promise<Completion> {
    const last = request.messages.at(-1)?.content ?? '';
    const turn = request.messages.filter((m) => m.role === 'user').length;
    const voice = VOICES[request.persona.id] ?? NEUTRAL;
    const line = voice[hash(`${last}#${turn}`) % voice.length]!;
    const chars = Array.from(last);
    const quoted = chars.length > 60 ? `${chars.slice(0, 57).join('').trimEnd()}...` : last;
    const text = `${line} You said: "${quoted}" (${request.persona.name}, offline mode: set OPENAI_API_KEY for real replies.)`;
    if (request.onDelta) for (const word of text.match(/\S+\s*/g) ?? [text]) request.onDelta(word);
    return { text, usage: null };
  }
}

/** FNV-1a: a tiny stable string hash, enough to pick a line deterministically. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
