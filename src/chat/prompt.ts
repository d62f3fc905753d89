import type { UniversalRules } from './types.js';

/**
 * The system prompt the model receives: the universal rules (when enabled and not blank), a blank
 * line, then the personality's own prompt.
 */
export function composeSystemPrompt(rules: UniversalRules | null, personalityPrompt: string): string {
  if (!rules?.enabled || rules.rules.trim() === '') return personalityPrompt;
  return `${rules.rules}\n\n${personalityPrompt}`;
}

/** A personality's id derived from its name: "Café Owl 2!" → "cafe-owl-2". */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}
