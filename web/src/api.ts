import { ChatifyClient, ChatifyError } from '../../src/client/chatify-client.js';

/** The app's one connection to the API: same origin as the page. */
export const api = new ChatifyClient();

/** What went wrong, in words a person can act on. */
export function describeError(error: unknown, maxMessageLength = 4000): string {
  if (!(error instanceof ChatifyError)) return 'Something unexpected went wrong. Please try again.';
  switch (error.code) {
    case 'provider_error':
    case 'provider_timeout':
    case 'provider_unavailable':
      return 'The AI model is unavailable right now, so your message was not answered. Please try again in a moment.';
    case 'session_ended':
      return 'This chat has ended. Start a new chat to keep talking.';
    case 'session_not_found':
      return 'This chat no longer exists. Start a new chat.';
    case 'message_too_long':
      return `Your message is too long (at most ${maxMessageLength} characters). Shorten it or split it, then send again.`;
    case 'network_error':
      return 'The server could not be reached. Check your connection and try again.';
    case 'rate_limited':
      return 'You are sending messages too quickly. Wait a moment, then try again.';
    default:
      return error.message || 'Something went wrong. Please try again.';
  }
}

const USER_KEY = 'chatify.userId';

export const userStore = {
  get: (): string | null => localStorage.getItem(USER_KEY),
  set: (id: string) => localStorage.setItem(USER_KEY, id),
  clear: () => localStorage.removeItem(USER_KEY),
};

/** The same rule the server applies to user ids. */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,127}$/;
