/**
 * The PostgreSQL store's statements over a session's message tree, each one statement (atomic on its
 * own). Messages are found by primary key (session_seq, seq) and by the (session_seq, parent_seq, seq)
 * index, so each costs what its answer holds, whatever the size of the tree.
 */

/**
 * Appends a chain of messages below a parent: $1 session id, $2 last activity, $3…$6 and $10…$12 the
 * messages' columns as arrays, $7 the expected active leaf (fencing; 0: none) or null, $8/$9 the tokens
 * used, $13 true to follow the active leaf, else $14 the parent's seq (null: a new first message).
 *
 * The session row is locked first (FOR UPDATE returns its newest version, after any append it waited
 * for), so concurrent appends queue on it, each seeing the one before; the active leaf's exchange
 * number is the session's message count. An explicit parent was acknowledged before this statement
 * began, so the statement's snapshot sees it.
 */
export const APPEND_EXCHANGE = `
  WITH target AS (
    SELECT seq, last_seq, message_count, active_seq FROM sessions
     WHERE id = $1 AND status = 'active' AND ($7::int IS NULL OR active_seq = $7)
       FOR UPDATE
  ), parent AS (
    SELECT t.seq AS session_seq, t.last_seq,
           CASE WHEN $13::boolean THEN NULLIF(t.active_seq, 0) ELSE $14::int END AS parent_seq,
           CASE WHEN $13::boolean THEN t.message_count ELSE COALESCE(p.exchange_no, 0) END AS parent_exchange
      FROM target t LEFT JOIN messages p ON NOT $13::boolean AND p.session_seq = t.seq AND p.seq = $14::int
     WHERE $13::boolean OR $14::int IS NULL OR p.seq IS NOT NULL
  ), chain AS (
    SELECT b.session_seq, b.last_seq + x.n::int AS seq,
           CASE WHEN x.n = 1 THEN b.parent_seq ELSE b.last_seq + x.n::int - 1 END AS parent_seq,
           b.parent_exchange + (COUNT(*) FILTER (WHERE x.role = 'user') OVER (ORDER BY x.n))::int AS exchange_no,
           x.role, x.content, x.tokens, x.created_at, x.key, x.prompt, x.completion
      FROM parent b,
           unnest($3::text[], $4::text[], $5::int[], $6::timestamptz[], $10::text[], $11::int[], $12::int[])
             WITH ORDINALITY AS x(role, content, tokens, created_at, key, prompt, completion, n)
  ), s AS (
    UPDATE sessions
       SET last_seq = b.last_seq + cardinality($3::text[]), active_seq = b.last_seq + cardinality($3::text[]),
           message_count = COALESCE((SELECT exchange_no FROM chain ORDER BY seq DESC LIMIT 1), b.parent_exchange),
           last_activity = $2, prompt_tokens = prompt_tokens + $8, completion_tokens = completion_tokens + $9
      FROM parent b
     WHERE sessions.seq = b.session_seq
    RETURNING sessions.message_count, b.last_seq + 1 AS first_seq, b.parent_seq
  ), inserted AS (
    INSERT INTO messages
      (session_seq, seq, parent_seq, exchange_no, role, content, tokens, created_at, idempotency_key, prompt_tokens, completion_tokens)
    SELECT session_seq, seq, parent_seq, exchange_no, role, content, tokens, created_at, key, prompt, completion FROM chain
  )
  SELECT message_count, first_seq, parent_seq FROM s`;

/**
 * A page of a path ($1 session id, $2 before seq, $3 limit, $4 leaf or null for the active one): up
 * from the leaf along the parents, seq falling at each step, until $3 messages below $2 are found
 * (an older page also steps past the messages between the leaf and $2, one index lookup each).
 */
export const PATH_PAGE = `
  WITH RECURSIVE session AS (
    SELECT seq, COALESCE($4::int, active_seq) AS leaf FROM sessions WHERE id = $1
  ), path AS (
    SELECT m.*, (m.seq < $2)::int AS found FROM session s JOIN messages m ON m.session_seq = s.seq AND m.seq = s.leaf
    UNION ALL
    SELECT m.*, p.found + (m.seq < $2)::int FROM path p JOIN messages m ON m.session_seq = p.session_seq AND m.seq = p.parent_seq
     WHERE p.found < $3
  )
  SELECT * FROM path WHERE seq < $2 ORDER BY seq`;

/** The children of the parents $2 (and of none, the first messages, when $3), oldest first. */
export const CHILDREN_OF = `
  SELECT m.parent_seq, m.seq FROM sessions s JOIN messages m ON m.session_seq = s.seq
   WHERE s.id = $1 AND m.parent_seq = ANY($2::int[])
  UNION ALL
  SELECT m.parent_seq, m.seq FROM sessions s JOIN messages m ON m.session_seq = s.seq
   WHERE s.id = $1 AND $3::boolean AND m.parent_seq IS NULL
  ORDER BY 2`;

/**
 * Makes the path through message $2 active: down from it along the newest child at each step, the
 * deepest message becomes the active leaf and its exchange number the message count. Active sessions only.
 */
export const SELECT_MESSAGE = `
  WITH RECURSIVE session AS (
    SELECT seq FROM sessions WHERE id = $1 AND status = 'active'
  ), down (seq) AS (
    SELECT m.seq FROM session s JOIN messages m ON m.session_seq = s.seq AND m.seq = $2
    UNION ALL
    SELECT (SELECT MAX(c.seq) FROM messages c WHERE c.session_seq = (SELECT seq FROM session) AND c.parent_seq = d.seq)
      FROM down d WHERE d.seq IS NOT NULL
  ), leaf AS (
    SELECT m.session_seq, m.seq, m.exchange_no FROM session s JOIN messages m ON m.session_seq = s.seq
     WHERE m.seq = (SELECT MAX(seq) FROM down)
  )
  UPDATE sessions SET active_seq = leaf.seq, message_count = leaf.exchange_no FROM leaf
   WHERE sessions.seq = leaf.session_seq AND sessions.status = 'active'
  RETURNING sessions.*`;

/** The keyed message ($2), and the reply stored with it when it is a user message (the next seq, its child). */
export const FIND_EXCHANGE = `
  SELECT m.* FROM sessions s
    JOIN messages k ON k.session_seq = s.seq AND k.idempotency_key = $2
    JOIN messages m ON m.session_seq = s.seq
     AND (m.seq = k.seq OR (k.role = 'user' AND m.seq = k.seq + 1 AND m.parent_seq = k.seq AND m.role = 'assistant'))
   WHERE s.id = $1 ORDER BY m.seq`;

/** Every message of the session with seq above $2, in seq order, at most $3. */
export const READ_TREE = `
  SELECT m.* FROM sessions s JOIN messages m ON m.session_seq = s.seq
   WHERE s.id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3`;

/**
 * Creates a session with its whole tree in one statement ($1…$11 the session's columns, $12 its last
 * seq, $13…$19 the messages' columns as arrays), so an import is stored whole or not at all.
 */
export const IMPORT_SESSION = `
  WITH s AS (
    INSERT INTO sessions
      (id, user_id, template_id, system_prompt, status, created_at, last_activity, ended_at, message_count, active_seq, title, last_seq)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
    RETURNING seq
  )
  INSERT INTO messages (session_seq, seq, parent_seq, exchange_no, role, content, tokens, created_at)
  SELECT s.seq, x.seq, x.parent_seq, x.exchange_no, x.role, x.content, x.tokens, x.created_at
    FROM s, unnest($13::int[], $14::int[], $15::int[], $16::text[], $17::text[], $18::int[], $19::timestamptz[])
      AS x(seq, parent_seq, exchange_no, role, content, tokens, created_at)`;
