import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { PersonalityJson, SessionSummaryJson } from '../../../src/client/chatify-client.js';
import { ChatifyError } from '../../../src/client/chatify-client.js';
import { api, describeError } from '../api.js';
import { MessageView, type ChatMessage } from './MessageView.js';
import { SessionList } from './SessionList.js';

interface OpenSession {
  id: string;
  templateId: string;
  status: 'active' | 'ended';
  /** Pass as `before` to load older messages; null when the whole history is shown. */
  olderBefore: number | null;
}

const PAGE = 200;
/** Failures a resend cannot fix. */
const NOT_RETRYABLE = new Set(['message_too_long', 'invalid_text', 'validation_error', 'session_ended', 'session_not_found']);

interface Failure {
  text: string;
  /** The message to send again, when the failure was a send. */
  retry?: string;
}

let keys = 0;
const nextKey = () => `m${++keys}`;

/** Pick a personality, chat with it (replies stream in), end the chat, reopen past ones. */
export function ChatPage({ userId }: { userId: string }) {
  const [personalities, setPersonalities] = useState<PersonalityJson[]>([]);
  const [selected, setSelected] = useState('');
  const [sessions, setSessions] = useState<SessionSummaryJson[]>([]);
  const [moreSessions, setMoreSessions] = useState<string | null>(null);
  const [current, setCurrent] = useState<OpenSession | null>(null);
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const [waitingForFirstWord, setWaitingForFirstWord] = useState(false);
  const [failure, setFailure] = useState<Failure | null>(null);
  const endOfMessages = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);

  const refreshSessions = useCallback(async () => {
    try {
      const page = await api.listSessions(userId, { limit: 30 });
      setSessions(page.sessions);
      setMoreSessions(page.next_cursor);
    } catch (error) {
      setFailure({ text: describeError(error) });
    }
  }, [userId]);

  const loadMoreSessions = async () => {
    if (!moreSessions) return;
    try {
      const page = await api.listSessions(userId, { limit: 30, cursor: moreSessions });
      setSessions((list) => [...list, ...page.sessions]);
      setMoreSessions(page.next_cursor);
    } catch (error) {
      setFailure({ text: describeError(error) });
    }
  };

  useEffect(() => {
    api
      .listPersonalities()
      .then((list) => {
        setPersonalities(list);
        setSelected((prev) => prev || (list.find((p) => p.id === 'friendly-assistant') ?? list[0])?.id || '');
      })
      .catch((error: unknown) => setFailure({ text: describeError(error) }));
    void refreshSessions();
  }, [refreshSessions]);

  useEffect(() => {
    endOfMessages.current?.scrollIntoView({ block: 'end' });
  }, [messages]);

  const personality = (id: string | undefined) => personalities.find((p) => p.id === id);
  const chosen = personality(selected);
  const talkingTo = personality(current?.templateId);

  const startChat = async () => {
    setFailure(null);
    try {
      const created = await api.createSession(userId, selected || undefined);
      setCurrent({ id: created.session_id, templateId: selected, status: 'active', olderBefore: null });
      setMessages([]);
      void refreshSessions();
      input.current?.focus();
    } catch (error) {
      setFailure({ text: describeError(error) });
    }
  };

  const openSession = async (id: string) => {
    setFailure(null);
    try {
      const session = await api.getSession(id, { limit: PAGE });
      setCurrent({ id, templateId: session.template_id, status: session.status, olderBefore: session.next_before });
      setMessages(session.conversation_history.map((m) => ({ key: `s${m.seq}`, role: m.role, content: m.content })));
    } catch (error) {
      setFailure({ text: describeError(error) });
    }
  };

  const loadEarlier = async () => {
    if (!current?.olderBefore) return;
    try {
      const page = await api.getSession(current.id, { limit: PAGE, before: current.olderBefore });
      const older = page.conversation_history.map((m): ChatMessage => ({ key: `s${m.seq}`, role: m.role, content: m.content }));
      setMessages((list) => [...older, ...list]);
      setCurrent({ ...current, olderBefore: page.next_before });
    } catch (error) {
      setFailure({ text: describeError(error) });
    }
  };

  const send = async (text: string) => {
    if (!current || sending || text.trim() === '') return;
    const question: ChatMessage = { key: nextKey(), role: 'user', content: text };
    const answer: ChatMessage = { key: nextKey(), role: 'assistant', content: '' };
    setFailure(null);
    setSending(true);
    setWaitingForFirstWord(true);
    setDraft('');
    setMessages((list) => [...list, question]);
    try {
      let started = false;
      await api.streamMessage(current.id, text, {
        onDelta: (piece) => {
          answer.content += piece;
          const shown = { ...answer };
          if (!started) {
            started = true;
            setWaitingForFirstWord(false);
            setMessages((list) => [...list, shown]);
          } else {
            setMessages((list) => list.map((m) => (m.key === answer.key ? shown : m)));
          }
        },
      });
      void refreshSessions();
    } catch (error) {
      // Nothing typed is lost: the message goes back into the box, and Retry sends it again.
      setMessages((list) => list.filter((m) => m.key !== question.key && m.key !== answer.key));
      setDraft((now) => (now === '' ? text : now));
      const retryable = !(error instanceof ChatifyError && NOT_RETRYABLE.has(error.code));
      setFailure(retryable ? { text: describeError(error), retry: text } : { text: describeError(error) });
      if (error instanceof ChatifyError && error.code === 'session_ended') {
        setCurrent((c) => (c ? { ...c, status: 'ended' } : c));
      }
    } finally {
      setSending(false);
      setWaitingForFirstWord(false);
    }
  };

  const endChat = async () => {
    if (!current) return;
    setFailure(null);
    try {
      await api.endSession(current.id);
    } catch (error) {
      if (!(error instanceof ChatifyError && error.code === 'session_ended')) {
        setFailure({ text: describeError(error) });
        return;
      }
    }
    setCurrent({ ...current, status: 'ended' });
    void refreshSessions();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void send(draft);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void send(draft);
    }
  };

  const canSend = current?.status === 'active' && !sending;

  return (
    <div className="chat-layout">
      <aside className="sidebar">
        <section aria-labelledby="new-chat-heading" className="card">
          <h2 id="new-chat-heading">New chat</h2>
          <label htmlFor="personality">Personality</label>
          <select id="personality" value={selected} onChange={(e) => setSelected(e.target.value)}>
            {personalities.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
          {chosen && (
            <div className="persona">
              <strong>{chosen.name}</strong>
              {chosen.title && <span className="muted"> · {chosen.title}</span>}
              <p>{chosen.description}</p>
              {chosen.welcomeMessage && <p className="welcome">“{chosen.welcomeMessage}”</p>}
            </div>
          )}
          <button type="button" onClick={() => void startChat()} disabled={!selected}>
            Start chat
          </button>
        </section>
        <SessionList
          sessions={sessions}
          currentId={current?.id}
          nameOf={(id) => personality(id)?.name ?? id}
          onOpen={(id) => void openSession(id)}
          onMore={moreSessions ? () => void loadMoreSessions() : undefined}
        />
      </aside>

      <section className="conversation" aria-label="Conversation">
        {current ? (
          <header className="conversation-header">
            <div>
              <h2>{talkingTo?.name ?? current.templateId}</h2>
              <span className={`status ${current.status}`}>{current.status === 'active' ? 'Active' : 'Ended'}</span>
            </div>
            {current.status === 'active' && (
              <button type="button" className="secondary" onClick={() => void endChat()} disabled={sending}>
                End chat
              </button>
            )}
          </header>
        ) : (
          <p className="empty">Pick a personality and press “Start chat”, or reopen a past session.</p>
        )}

        {current?.olderBefore && (
          <button type="button" className="secondary load-earlier" onClick={() => void loadEarlier()}>
            Load earlier messages
          </button>
        )}
        <ol className="messages" aria-label="Messages" aria-live="polite">
          {current && !current.olderBefore && talkingTo?.welcomeMessage && (
            <li className="bubble assistant welcome-bubble">
              <p className="plain">{talkingTo.welcomeMessage}</p>
            </li>
          )}
          {messages.map((m) => (
            <MessageView key={m.key} message={m} />
          ))}
        </ol>
        {waitingForFirstWord && (
          <p role="status" className="typing">
            <span className="dots" aria-hidden="true" /> {talkingTo?.name ?? 'The assistant'} is typing…
          </p>
        )}
        <div ref={endOfMessages} />

        {failure && (
          <div role="alert" className="alert">
            <span>{failure.text}</span>
            {failure.retry !== undefined && current?.status === 'active' && (
              <button type="button" onClick={() => void send(failure.retry!)} disabled={sending}>
                Retry
              </button>
            )}
          </div>
        )}
        {current?.status === 'ended' && <p className="notice">This chat has ended. Start a new chat to keep talking.</p>}

        <form className="composer" onSubmit={submit}>
          <label htmlFor="message" className="visually-hidden">
            Message
          </label>
          <textarea
            id="message"
            ref={input}
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onKeyDown}
            placeholder={current ? 'Type a message… (Enter sends, Shift+Enter for a new line)' : 'Start a chat first'}
            rows={2}
            disabled={!current || current.status !== 'active'}
          />
          <button type="submit" disabled={!canSend || draft.trim() === ''}>
            Send
          </button>
        </form>
      </section>
    </div>
  );
}
