import { ChatifyClient, ChatifyError } from '../../src/client/chatify-client.js';

const USER_KEY = 'chatify.userId';
const TOKEN_KEY = 'chatify.token';
const ADMIN_KEY = 'chatify.adminKey';

/** Who this browser is: the user id, and the sign-in token when the server requires one. */
export const userStore = {
  get: (): string | null => localStorage.getItem(USER_KEY),
  token: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (id: string, token?: string) => {
    localStorage.setItem(USER_KEY, id);
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  },
  clear: () => {
    localStorage.removeItem(USER_KEY);
    localStorage.removeItem(TOKEN_KEY);
  },
};

/** The admin key for personality changes: kept for this tab only. */
export const adminKeyStore = {
  get: (): string => sessionStorage.getItem(ADMIN_KEY) ?? '',
  set: (key: string) => (key ? sessionStorage.setItem(ADMIN_KEY, key) : sessionStorage.removeItem(ADMIN_KEY)),
};

/** The app's one connection to the API: same origin as the page, signed in when a token is set. */
export const api = new ChatifyClient({
  headers: () => {
    const headers: Record<string, string> = {};
    const token = userStore.token();
    if (token) headers['authorization'] = `Bearer ${token}`;
    const admin = adminKeyStore.get();
    if (admin) headers['x-admin-key'] = admin;
    return headers;
  },
});

/** The user a JWT names (its "sub"), read without checking it: the server does the checking. */
export function subjectOf(token: string): string | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : null;
  } catch {
    return null;
  }
}

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
    case 'connection_ended':
      return 'This chat has ended, so nothing more can be sent to it. Start a new chat to keep talking.';
    case 'connection_not_found':
      return 'This chat no longer exists, or you are not part of it.';
    case 'message_too_long':
      return `Your message is too long (at most ${maxMessageLength} characters). Shorten it or split it, then send again.`;
    case 'network_error':
      return 'The server could not be reached. Check your connection and try again.';
    case 'rate_limited':
      return 'You are sending messages too quickly. Wait a moment, then try again.';
    case 'unauthorized':
      return 'The server needs you to sign in again: use "Switch user" and enter a valid access token.';
    case 'admin_key_required':
    case 'forbidden':
      return 'That needs the admin key. Enter it above and try again.';
    default:
      return error.message || 'Something went wrong. Please try again.';
  }
}


/** The same rule the server applies to user ids. */
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@:+-]{0,127}$/;
