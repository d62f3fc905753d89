import { ChatError } from './errors.js';

// C0 controls other than tab, newline and carriage return have no place in chat text.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * One character that shows: anything but white space, format and other controls (zero-width
 * spaces and joiners, bidi controls, soft hyphens, tags), default-ignorable characters (Hangul
 * fillers, variation selectors, the combining grapheme joiner), combining marks without a base and
 * the blank Braille pattern. Such characters may appear inside text, just not make up all of it.
 */
const VISIBLE = /[^\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}\u2800]/u;

/** True when the text would show at least one character: the one rule for "not blank". */
export function hasVisibleCharacter(text: string): boolean {
  return VISIBLE.test(text);
}

/** Rejects text that is empty (or only invisible characters), too long (in characters, not UTF-16 units), or not clean Unicode. */
export function checkMessageText(text: string, maxLength: number): void {
  if (!hasVisibleCharacter(text)) throw new ChatError('invalid_text', 'The message is empty: it has no visible character.');
  if (text.length > maxLength && [...text].length > maxLength) {
    throw new ChatError('message_too_long', `The message is longer than ${maxLength} characters; shorten it or split it.`);
  }
  if (!text.isWellFormed() || FORBIDDEN_CONTROL.test(text)) {
    throw new ChatError('invalid_text', 'The message contains control characters or broken Unicode.');
  }
}
