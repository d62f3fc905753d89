import { useState, type FormEvent } from 'react';
import { USER_ID_PATTERN } from '../api.js';

/** Asks for a user id once; the app remembers it in this browser. */
export function UserGate({ onSignIn }: { onSignIn: (userId: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const id = value.trim();
    if (!USER_ID_PATTERN.test(id)) {
      setError('Use letters, digits and _ . @ : + - (up to 128), starting with a letter or digit.');
      return;
    }
    onSignIn(id);
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
        <button type="submit">Continue</button>
      </form>
    </main>
  );
}
