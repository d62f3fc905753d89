import { countTokens as countO200k } from 'gpt-tokenizer';

/** Counts tokens the way current OpenAI chat models do (o200k_base); close enough for budgeting others. */
export type TokenCounter = (text: string) => number;

/** User text may contain strings like "<|endoftext|>": count them as plain text, never reject them. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

export const countTokens: TokenCounter = (text) => (text.length === 0 ? 0 : countO200k(text, PLAIN_TEXT));
