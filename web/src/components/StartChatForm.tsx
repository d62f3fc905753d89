import { useState, type FormEvent } from 'react';
import { USER_ID_PATTERN } from '../api.js';

/** Starts (or reopens) a chat with another person by their user id. */
export function StartChatForm({ me, onStart }: { me: string; onStart: (otherUserId: string) => Promise<string | null> }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const other = value.trim();
    if (!USER_ID_PATTERN.test(other)) {
      setError('Enter their user id: letters, digits and _ . @ : + - (up to 128), starting with a letter or digit.');
      return;
    }
    if (other === me) {
      setError('That is you. Enter someone else’s user id.');
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const failed = await onStart(other);
      setError(failed);
      if (!failed) setValue('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="start-chat-heading" className="card">
      <h2 id="start-chat-heading">Chat with someone</h2>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <label htmlFor="chat-with">Chat with user</label>
        <input
          id="chat-with"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="Their user id"
          autoComplete="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'chat-with-error' : undefined}
        />
        {error && (
          <p id="chat-with-error" className="field-error">
            {error}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={busy}>
            Start chat
          </button>
        </div>
      </form>
    </section>
  );
}
