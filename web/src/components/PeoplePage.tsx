import { useCallback, useEffect, useRef, useState } from 'react';
import type { ConnectionMessageJson } from '../../../src/client/chatify-client.js';
import { ChatifyError } from '../../../src/client/chatify-client.js';
import { api, describeError } from '../api.js';
import { useLive, useTyping, useTypingSignal, type LiveFrame } from '../live.js';
import {
  applyMessage,
  applyRead,
  mergeList,
  mergeMessages,
  newKey,
  otherUserOf,
  upsertConnection,
  type Conversation,
} from '../people-state.js';
import { ConversationList } from './ConversationList.js';
import { ConversationView, type Failure, type PendingMessage } from './ConversationView.js';
import { StartChatForm } from './StartChatForm.js';

const PAGE = 50;
/** Failures a resend cannot fix. */
const NOT_RETRYABLE = new Set(['message_too_long', 'validation_error', 'connection_ended', 'connection_not_found']);

const visible = () => document.visibilityState === 'visible';
const withoutFirst = <T,>(list: T[], match: (item: T) => boolean): T[] => {
  const at = list.findIndex(match);
  return at < 0 ? list : [...list.slice(0, at), ...list.slice(at + 1)];
};
const maxSeq = (messages: ConnectionMessageJson[]) => messages.reduce((max, m) => Math.max(max, m.seq), 0);

/** Chats between people: start one by user id, see unread counts live, talk, end the chat. */
export function PeoplePage({ userId }: { userId: string }) {
  const [list, setList] = useState<Conversation[]>([]);
  const [listError, setListError] = useState<string | null>(null);
  const [openId, setOpenId] = useState<string | null>(null);
  const [messages, setMessages] = useState<ConnectionMessageJson[]>([]);
  const [hasOlder, setHasOlder] = useState(false);
  const [pending, setPending] = useState<PendingMessage[]>([]);
  const [failure, setFailure] = useState<Failure | null>(null);
  const { typing, onTyping, clear: clearTyping } = useTyping();

  // What event handlers and async calls must read as it is now, not as it was when they were made.
  const listNow = useRef(list);
  const openNow = useRef<string | null>(null);
  /** The newest seq shown in the open conversation, and whether its first page has loaded. */
  const shownUpTo = useRef(0);
  const loaded = useRef(false);
  useEffect(() => {
    listNow.current = list;
  }, [list]);

  const refresh = useCallback(async () => {
    try {
      const fresh = await api.listConnections(userId, { limit: PAGE });
      for (const c of fresh) live.noteSeq(c.id, c.last_seq);
      setList((now) => mergeList(now, fresh));
      setListError(null);
    } catch (error) {
      setListError(describeError(error));
    }
  }, [userId]); // `live`'s functions never change

  const markRead = useCallback(
    (connectionId: string, upTo: number) => {
      const known = listNow.current.find((c) => c.id === connectionId);
      if (upTo <= 0 || (known && upTo <= known.read_up_to) || !visible()) return;
      setList((now) => applyRead(now, connectionId, upTo));
      api.markConnectionRead(connectionId, userId, upTo).catch(() => {
        // Best effort: the next open marks it again.
      });
    },
    [userId],
  );

  /** Shows messages of the open conversation; fetches any it missed (a gap in seq). */
  const showMessages = (connectionId: string, more: ConnectionMessageJson[]) => {
    if (openNow.current !== connectionId || more.length === 0) return;
    const gap = loaded.current && Math.min(...more.map((m) => m.seq)) > shownUpTo.current + 1;
    setMessages((now) => mergeMessages(now, more));
    shownUpTo.current = Math.max(shownUpTo.current, maxSeq(more));
    if (gap) void catchUp(connectionId);
  };

  const catchUp = async (connectionId: string) => {
    let after = shownUpTo.current;
    try {
      for (;;) {
        const page = await api.connectionMessages(connectionId, userId, { after, limit: PAGE });
        if (openNow.current !== connectionId) return;
        setMessages((now) => mergeMessages(now, page));
        after = Math.max(after, maxSeq(page));
        shownUpTo.current = Math.max(shownUpTo.current, after);
        if (page.length < PAGE) break;
      }
      markRead(connectionId, after);
    } catch {
      // The next reconnect or open tries again.
    }
  };

  const onFrame = (frame: LiveFrame) => {
    switch (frame.type) {
      case 'ready':
        void refresh();
        if (openNow.current && loaded.current) void catchUp(openNow.current);
        break;
      case 'message': {
        const { message } = frame;
        if (!listNow.current.some((c) => c.id === frame.connection_id)) void refresh();
        setList((now) => applyMessage(now, message, userId));
        if (message.sender_id !== userId) clearTyping(frame.connection_id);
        if (openNow.current === frame.connection_id) {
          showMessages(frame.connection_id, [message]);
          // Our own message can arrive here before its request answers: it is no longer pending.
          if (message.sender_id === userId) setPending((now) => withoutFirst(now, (p) => p.content === message.content));
          if (message.sender_id !== userId) markRead(frame.connection_id, message.seq);
        }
        break;
      }
      case 'typing':
        if (frame.user_id !== userId) onTyping(frame.connection_id, frame.user_id);
        break;
      case 'read':
        if (frame.user_id === userId) setList((now) => applyRead(now, frame.connection_id, frame.up_to));
        break;
      case 'connection':
        setList((now) => upsertConnection(now, frame.connection, userId));
        if (frame.connection.status === 'ended') clearTyping(frame.connection.id);
        break;
      case 'error':
        // A typing signal that raced with the chat ending needs no alarm; anything else is shown.
        if (frame.error.code !== 'connection_ended' && frame.error.code !== 'connection_not_found') setListError(frame.error.message);
        break;
    }
  };
  const live = useLive(userId, onFrame);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Coming back to the tab reads what arrived in the open conversation meanwhile.
  useEffect(() => {
    const onVisible = () => {
      if (visible() && openNow.current) markRead(openNow.current, shownUpTo.current);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [markRead]);

  const typingSignal = useTypingSignal(() => {
    if (openNow.current) live.send({ type: 'typing', connection_id: openNow.current });
  });

  const open = async (connectionId: string) => {
    openNow.current = connectionId;
    shownUpTo.current = 0;
    loaded.current = false;
    setOpenId(connectionId);
    setMessages([]);
    setPending([]);
    setHasOlder(false);
    setFailure(null);
    typingSignal.reset();
    try {
      const page = await api.connectionMessages(connectionId, userId, { limit: PAGE });
      if (openNow.current !== connectionId) return;
      setMessages((now) => mergeMessages(now, page));
      shownUpTo.current = Math.max(shownUpTo.current, maxSeq(page));
      loaded.current = true;
      setHasOlder((page[0]?.seq ?? 1) > 1);
      live.noteSeq(connectionId, maxSeq(page));
      markRead(connectionId, shownUpTo.current);
    } catch (error) {
      if (openNow.current === connectionId) setFailure({ text: describeError(error) });
    }
  };

  const loadEarlier = async () => {
    const id = openNow.current;
    const first = messages[0]?.seq;
    if (!id || !first) return;
    try {
      const page = await api.connectionMessages(id, userId, { before: first, limit: PAGE });
      if (openNow.current !== id) return;
      setMessages((now) => mergeMessages(now, page));
      setHasOlder((page[0]?.seq ?? 1) > 1);
    } catch (error) {
      setFailure({ text: describeError(error) });
    }
  };

  const markEnded = (connectionId: string) =>
    setList((now) => now.map((c) => (c.id === connectionId ? { ...c, status: 'ended' } : c)));

  const send = async (text: string, key = newKey()): Promise<boolean> => {
    const id = openNow.current;
    if (!id) return false;
    setFailure(null);
    setPending((now) => [...now.filter((p) => p.key !== key), { key, content: text }]);
    typingSignal.reset();
    try {
      const message = await api.sendConnectionMessage(id, userId, text, { idempotencyKey: key });
      setPending((now) => now.filter((p) => p.key !== key));
      setList((now) => applyMessage(now, message, userId));
      showMessages(id, [message]);
      return true;
    } catch (error) {
      setPending((now) => now.filter((p) => p.key !== key));
      const code = error instanceof ChatifyError ? error.code : '';
      if (code === 'connection_ended') markEnded(id);
      if (openNow.current === id) {
        setFailure(NOT_RETRYABLE.has(code) ? { text: describeError(error) } : { text: describeError(error), retry: { key, content: text } });
      }
      return false;
    }
  };

  const endChat = async () => {
    const id = openNow.current;
    if (!id) return;
    setFailure(null);
    try {
      const ended = await api.endConnection(id, userId);
      setList((now) => upsertConnection(now, ended, userId));
    } catch (error) {
      if (error instanceof ChatifyError && error.code === 'connection_ended') markEnded(id);
      else setFailure({ text: describeError(error) });
    }
  };

  const start = async (otherUserId: string): Promise<string | null> => {
    try {
      const connection = await api.createConnection(userId, otherUserId);
      setList((now) => upsertConnection(now, connection, userId));
      void open(connection.id);
      return null;
    } catch (error) {
      return describeError(error);
    }
  };

  const current = list.find((c) => c.id === openId) ?? null;
  const typingUser = openId ? (typing.get(openId) ?? null) : null;

  return (
    <div className="chat-layout">
      <aside className="sidebar">
        <StartChatForm me={userId} onStart={start} />
        <ConversationList me={userId} conversations={list} currentId={openId} typing={typing} onOpen={(id) => void open(id)} />
        <p className={`live-status ${live.status}`} aria-live="polite">
          {live.status === 'live' ? 'Connected: new messages appear as they arrive.' : live.status === 'connecting' ? 'Connecting…' : 'Offline: reconnecting…'}
        </p>
        {listError && (
          <div role="alert" className="alert">
            <span>{listError}</span>
            <button type="button" onClick={() => void refresh()}>
              Retry
            </button>
          </div>
        )}
      </aside>
      <ConversationView
        me={userId}
        conversation={current}
        messages={messages}
        pending={pending}
        hasOlder={hasOlder}
        typingUser={typingUser && current && typingUser === otherUserOf(current, userId) ? typingUser : null}
        failure={failure}
        onSend={(text) => send(text)}
        onRetry={(m) => send(m.content, m.key)}
        onEnd={() => void endChat()}
        onLoadEarlier={() => void loadEarlier()}
        onTyped={typingSignal.typed}
      />
    </div>
  );
}
