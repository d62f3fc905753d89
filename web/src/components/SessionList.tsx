import type { SessionSummaryJson } from '../../../src/client/chatify-client.js';

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The user's sessions, newest first; each reopens with its history. */
export function SessionList(props: {
  sessions: SessionSummaryJson[];
  currentId: string | undefined;
  nameOf: (templateId: string) => string;
  onOpen: (sessionId: string) => void;
  /** Loads older sessions; absent when all are shown. */
  onMore?: (() => void) | undefined;
}) {
  return (
    <section aria-labelledby="past-sessions-heading" className="card">
      <h2 id="past-sessions-heading">Past sessions</h2>
      {props.sessions.length === 0 ? (
        <p className="muted">No sessions yet.</p>
      ) : (
        <ul className="session-list" aria-label="Past sessions">
          {props.sessions.map((s) => (
            <li key={s.session_id}>
              <button
                type="button"
                className={`session ${s.session_id === props.currentId ? 'current' : ''}`}
                aria-current={s.session_id === props.currentId ? 'true' : undefined}
                onClick={() => props.onOpen(s.session_id)}
              >
                <span className="session-name">{props.nameOf(s.template_id)}</span>
                <span className="muted">
                  {when.format(new Date(s.created_at))} · {s.message_count} {s.message_count === 1 ? 'exchange' : 'exchanges'} ·{' '}
                  {s.status === 'active' ? 'active' : 'ended'}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {props.onMore && (
        <button type="button" className="secondary more" onClick={props.onMore}>
          Show older sessions
        </button>
      )}
    </section>
  );
}
