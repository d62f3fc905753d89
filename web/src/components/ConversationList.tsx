import { otherUserOf, unreadOf, type Conversation } from '../people-state.js';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The user's chats with people, most recent activity first, with unread badges. */
export function ConversationList(props: {
  me: string;
  conversations: Conversation[];
  currentId: string | null;
  /** Who is typing, per connection id. */
  typing: ReadonlyMap<string, string>;
  onOpen: (connectionId: string) => void;
}) {
  return (
    <section aria-labelledby="conversations-heading" className="card">
      <h2 id="conversations-heading">Conversations</h2>
      {props.conversations.length === 0 ? (
        <p className="muted">No conversations yet. Start one above.</p>
      ) : (
        <ul className="session-list" aria-label="Conversations">
          {props.conversations.map((c) => {
            const unread = c.id === props.currentId ? 0 : unreadOf(c);
            const current = c.id === props.currentId;
            const last = c.last_message;
            return (
              <li key={c.id}>
                <button
                  type="button"
                  className={`session conversation-item ${current ? 'current' : ''} ${unread > 0 ? 'has-unread' : ''}`}
                  aria-current={current ? 'true' : undefined}
                  onClick={() => props.onOpen(c.id)}
                >
                  <span className="conversation-top">
                    <span className="session-name">{otherUserOf(c, props.me)}</span>
                    {unread > 0 && (
                      <span className="badge" role="img" aria-label={`${unread} unread`}>
                        {unread > 99 ? '99+' : unread}
                      </span>
                    )}
                  </span>
                  <span className="muted preview">
                    {props.typing.has(c.id)
                      ? 'typing…'
                      : last
                        ? `${last.sender_id === props.me ? 'You: ' : ''}${last.content}`
                        : 'No messages yet'}
                  </span>
                  <span className="muted">
                    {when.format(new Date(c.last_activity))}
                    {c.status === 'ended' && ' · ended'}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
