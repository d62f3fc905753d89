import { useState, type FormEvent } from 'react';
import { subjectOf, USER_ID_PATTERN } from '../api.js';

/**
 * Asks who you are once; this browser remembers it. Servers that require sign-in (AUTH_MODE=jwt)
 * also need an access token; its user ("sub") fills in the user id.
 */
export function UserGate({ onSignIn }: { onSignIn: (userId: string, token?: string) => void }) {
  const [value, setValue] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmedToken = token.trim();
    const id = value.trim() || (trimmedToken ? (subjectOf(trimmedToken) ?? '') : '');
    if (!USER_ID_PATTERN.test(id)) {
      setError('Use letters, digits and _ . @ : + - (up to 128), starting with a letter or digit.');
      return;
    }
    onSignIn(id, trimmedToken || undefined);
  };

  return (
    <main className="gate">
      <form onSubmit={submit} className="card" noValidate>
        <h1>Welcome to Chatify</h1>
        <p>Choose a user id. Your chats are kept under it, and this browser remembers it.</p>
        <label htmlFor="user-id">User ID</label>
        <input
          id="user-id"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          autoFocus
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'user-id-error' : undefined}
        />
        {error && (
          <p id="user-id-error" className="field-error">
            {error}
          </p>
        )}
        <label htmlFor="access-token">Access token (only if this server requires sign-in)</label>
        <input id="access-token" type="password" value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
        <button type="submit">Continue</button>
      </form>
    </main>
  );
}
