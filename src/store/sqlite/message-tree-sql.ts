/**
 * The SQLite store's reads over a session's message tree. Messages are found by primary key
 * (session_seq, seq) and by the (session_seq, parent_seq, seq) index, so each read costs what its
 * answer holds, whatever the size of the tree. (Writes are in writes.ts, on the writer thread.)
 */

/**
 * A page of a path: up from its leaf (the active one by default) along the parents, seq falling at
 * each step, until `limit` messages below `before` are found; oldest first. Each step is one
 * primary-key lookup, and the walk stops at the page's end, whatever lies beside or above it (an
 * older page also steps past the messages between the leaf and `before`, one lookup each).
 */
export const PATH_PAGE = `
  WITH RECURSIVE session (seq, leaf) AS (
    SELECT seq, COALESCE(@leaf, active_seq) FROM sessions WHERE id = @id
  ), path (session_seq, seq, parent_seq, found) AS (
    SELECT m.session_seq, m.seq, m.parent_seq, m.seq < @before FROM session s JOIN messages m ON m.session_seq = s.seq AND m.seq = s.leaf
    UNION ALL
    SELECT m.session_seq, m.seq, m.parent_seq, p.found + (m.seq < @before)
      FROM path p JOIN messages m ON m.session_seq = p.session_seq AND m.seq = p.parent_seq
     WHERE p.found < @limit
  )
  SELECT m.* FROM path p JOIN messages m ON m.session_seq = p.session_seq AND m.seq = p.seq
   WHERE p.seq < @before ORDER BY m.seq`;

/**
 * The children of the parents in the JSON array @parents (and of none, the first messages, when
 * @roots = 1), oldest first. Seeks into the parent index, never a scan of the session's messages
 * (which the planner, not knowing how few parents come, would otherwise pick).
 */
export const CHILDREN_OF = `
  WITH session (seq) AS (SELECT seq FROM sessions WHERE id = @id)
  SELECT m.parent_seq, m.seq FROM session s JOIN messages m INDEXED BY messages_by_parent ON m.session_seq = s.seq
   WHERE m.parent_seq IN (SELECT value FROM json_each(@parents))
  UNION ALL
  SELECT m.parent_seq, m.seq FROM session s JOIN messages m ON m.session_seq = s.seq
   WHERE @roots = 1 AND m.parent_seq IS NULL
  ORDER BY 2`;

/** Every message of the session with seq above the second parameter, in seq order, at most the third. */
export const READ_TREE = `
  SELECT * FROM messages
   WHERE session_seq = (SELECT seq FROM sessions WHERE id = ?) AND seq > ? ORDER BY seq LIMIT ?`;

/** The keyed message, and the reply stored with it when it is a user message (the next seq, its child). */
export const FIND_EXCHANGE = `
  SELECT m.* FROM messages k JOIN messages m ON m.session_seq = k.session_seq
     AND (m.seq = k.seq OR (k.role = 'user' AND m.seq = k.seq + 1 AND m.parent_seq = k.seq AND m.role = 'assistant'))
   WHERE k.session_seq = (SELECT seq FROM sessions WHERE id = ?) AND k.idempotency_key = ? ORDER BY m.seq`;
