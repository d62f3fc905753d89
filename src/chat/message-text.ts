import { ChatError } from './errors.js';

// C0 controls other than tab, newline and carriage return have no place in chat text.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Rejects text that is empty, too long (in characters, not UTF-16 units), or not clean Unicode. */
export function checkMessageText(text: string, maxLength: number): void {
  if (text.trim() === '') throw new ChatError('invalid_text', 'The message is empty.');
  if (text.length > maxLength && [...text].length > maxLength) {
    throw new ChatError('message_too_long', `The message is longer than ${maxLength} characters; shorten it or split it.`);
  }
  if (!text.isWellFormed() || FORBIDDEN_CONTROL.test(text)) {
    throw new ChatError('invalid_text', 'The message contains control characters or broken Unicode.');
  }
}
