import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { ConnectionMessageJson } from '../../../src/client/chatify-client.js';
import { otherUserOf, type Conversation } from '../people-state.js';

export interface PendingMessage {
  key: string;
  content: string;
}

export interface Failure {
  text: string;
  /** A send to try again, with the same idempotency key. */
  retry?: PendingMessage;
}

const time = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/** One open chat with a person: its messages, who is typing, and the box to write in. */
export function ConversationView(props: {
  me: string;
  conversation: Conversation | null;
  messages: ConnectionMessageJson[];
  pending: PendingMessage[];
  hasOlder: boolean;
  /** The other person, while they are typing. */
  typingUser: string | null;
  failure: Failure | null;
  /** Resolves false when the message was not sent (the text goes back into the box). */
  onSend: (text: string) => Promise<boolean>;
  /** Sends a failed message again; resolves like onSend. */
  onRetry: (message: PendingMessage) => Promise<boolean>;
  onEnd: () => void;
  onLoadEarlier: () => void;
  onTyped: () => void;
}) {
  const { conversation: c, me } = props;
  const [draft, setDraft] = useState('');
  const input = useRef<HTMLTextAreaElement>(null);
  const endOfMessages = useRef<HTMLDivElement>(null);
  const active = c?.status === 'active';

  useEffect(() => {
    setDraft('');
    if (c) input.current?.focus();
    // Only when a different conversation opens: start it with an empty box.
  }, [c?.id]);

  useEffect(() => {
    endOfMessages.current?.scrollIntoView({ block: 'end' });
  }, [props.messages.length, props.pending.length, props.typingUser]);

  /** Nothing typed is lost: a failed send puts the text back into the box (and Retry sends it). */
  const send = async (retry?: PendingMessage) => {
    const text = retry?.content ?? draft;
    if (!active || text.trim() === '') return;
    setDraft('');
    const sent = await (retry ? props.onRetry(retry) : props.onSend(text));
    if (!sent) setDraft((now) => (now === '' ? text : now));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void send();
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send();
    }
  };

  if (!c) {
    return (
      <section className="conversation" aria-label="Conversation">
        <p className="empty">Enter someone’s user id and press “Start chat”, or open a conversation.</p>
      </section>
    );
  }
  const other = otherUserOf(c, me);

  return (
    <section className="conversation" aria-label={`Conversation with ${other}`}>
      <header className="conversation-header">
        <div>
          <h2>{other}</h2>
          <span className={`status ${c.status}`}>{active ? 'Active' : 'Ended'}</span>
        </div>
        {active && (
          <button type="button" className="secondary" onClick={props.onEnd}>
            End chat
          </button>
        )}
      </header>

      {props.hasOlder && (
        <button type="button" className="secondary load-earlier" onClick={props.onLoadEarlier}>
          Load earlier messages
        </button>
      )}
      <ol className="messages" aria-label="Messages" aria-live="polite">
        {props.messages.map((m) => {
          const own = m.sender_id === me;
          return (
            <li key={m.seq} className={`bubble ${own ? 'own' : 'other'}`}>
              <span className="sender">{own ? 'You' : m.sender_id}</span>
              <span className="visually-hidden">: </span>
              <p className="plain">{m.content}</p>
              <time className="sent-at" dateTime={m.timestamp}>
                {time.format(new Date(m.timestamp))}
              </time>
            </li>
          );
        })}
        {props.pending.map((m) => (
          <li key={m.key} className="bubble own pending">
            <span className="sender">You</span>
            <span className="visually-hidden">: </span>
            <p className="plain">{m.content}</p>
            <span className="sent-at">Sending…</span>
          </li>
        ))}
      </ol>
      {props.messages.length === 0 && props.pending.length === 0 && (
        <p className="empty">No messages yet. Say hello to {other}.</p>
      )}
      {props.typingUser && (
        <p role="status" className="typing">
          <span className="dots" aria-hidden="true" /> {props.typingUser} is typing…
        </p>
      )}
      <div ref={endOfMessages} />

      {props.failure && (
        <div role="alert" className="alert">
          <span>{props.failure.text}</span>
          {props.failure.retry && active && (
            <button type="button" onClick={() => void send(props.failure!.retry)}>
              Retry
            </button>
          )}
        </div>
      )}
      {!active && <p className="notice">This chat has ended. Start a new chat to keep talking.</p>}

      <form className="composer" onSubmit={submit}>
        <label htmlFor="people-message" className="visually-hidden">
          Message
        </label>
        <textarea
          id="people-message"
          ref={input}
          value={draft}
          onChange={(e) => {
            setDraft(e.target.value);
            if (e.target.value.trim() !== '') props.onTyped();
          }}
          onKeyDown={onKeyDown}
          placeholder={active ? 'Type a message… (Enter sends, Shift+Enter for a new line)' : 'This chat has ended'}
          rows={2}
          disabled={!active}
        />
        <button type="submit" disabled={!active || draft.trim() === ''}>
          Send
        </button>
      </form>
    </section>
  );
}
