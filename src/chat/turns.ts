import type { ContextMessage } from './context-window.js';
import { ChatError } from './errors.js';
import type { Store } from './store.js';
import type { NewMessage, Session, StoredMessage } from './types.js';

/**
 * What a person asks of a session that the model answers: a new message after the active leaf, a new
 * version of a reply on the active path, or a new version of a user message on it (then its reply).
 */
export type Turn =
  | { kind: 'send'; text: string }
  | { kind: 'regenerate'; messageSeq?: number | undefined }
  | { kind: 'edit'; messageSeq: number; text: string };

/** What a turn writes and what the model sees for it, worked out against the session as it is now. */
export interface TurnPlan {
  /** The active path before the question, newest last (as many as may enter the context). */
  history: ContextMessage[];
  /** The user message the reply answers: new (then it is appended too) or already stored. */
  question: NewMessage;
  /** Whether `question` is new and stored with the reply. */
  asksAnew: boolean;
  /** Where the appended chain goes: undefined for after the active leaf. */
  parentSeq: number | null | undefined;
}

/** The same turn, asked again: what an in-flight retry with the same Idempotency-Key must match. */
export function turnFingerprint(turn: Turn): string {
  return JSON.stringify(turn);
}

/** The text a turn brings, if any. */
export function turnText(turn: Turn): string | undefined {
  return turn.kind === 'regenerate' ? undefined : turn.text;
}

export function messageNotFound(): ChatError {
  return new ChatError('message_not_found', 'There is no such message in this session.');
}

function notOnPath(what: string): ChatError {
  return new ChatError('invalid_message_target', `${what} Select its branch first, or choose a message of the conversation shown.`);
}

/**
 * The target of a regenerate or edit, read with what precedes it: the page of the active path ending
 * at `seq` (a path's seqs rise from its first message down, so the ones at or below `seq` are exactly
 * its ancestors when it lies on the path). `extra` more messages come with it for the context.
 */
export async function readTarget(store: Store, session: Session, seq: number, extra: number): Promise<StoredMessage[]> {
  if (!Number.isSafeInteger(seq) || seq < 1 || session.activeSeq === null) throw messageNotFound();
  const page = await store.readMessages(session.id, { limit: extra + 1, beforeSeq: seq + 1 });
  if (page.at(-1)?.seq !== seq) {
    const [stored] = await store.readTree(session.id, { limit: 1, afterSeq: seq - 1 });
    if (stored?.seq !== seq) throw messageNotFound();
    throw notOnPath(`Message ${seq} is not on the active path of this conversation.`);
  }
  return page;
}

/** The message a regenerate or edit names; a regenerate names the active leaf by default. */
function targetSeq(turn: Exclude<Turn, { kind: 'send' }>, session: Session): number {
  const seq = turn.messageSeq ?? session.activeSeq;
  if (seq === null) throw notOnPath('There is no reply to regenerate yet.');
  return seq;
}

/** Checks a regenerate or edit's target without reading more than it. */
export async function checkTarget(store: Store, session: Session, turn: Turn): Promise<void> {
  if (turn.kind === 'send') return;
  const [target] = await readTarget(store, session, targetSeq(turn, session), 0);
  checkRole(turn, target!);
}

function checkRole(turn: Turn, target: StoredMessage): void {
  if (turn.kind === 'regenerate' && (target.role !== 'assistant' || target.parentSeq === null)) {
    throw notOnPath(`Message ${target.seq} is not a reply; only replies can be regenerated.`);
  }
  if (turn.kind === 'edit' && target.role !== 'user') {
    throw notOnPath(`Message ${target.seq} is not a user message; only those can be edited (regenerate a reply instead).`);
  }
}

/**
 * Works out a regenerate or edit: the stored context it answers and where its messages go. `window`
 * is how many messages may precede the question in the context.
 */
export async function planBranch(
  store: Store,
  session: Session,
  turn: Exclude<Turn, { kind: 'send' }>,
  newQuestion: NewMessage | undefined,
  window: number,
): Promise<TurnPlan> {
  const seq = targetSeq(turn, session);
  // A regenerate also reads the question its reply answers.
  const page = await readTarget(store, session, seq, window + (turn.kind === 'regenerate' ? 1 : 0));
  const target = page.pop()!;
  checkRole(turn, target);
  if (turn.kind === 'edit') {
    return { history: page, question: newQuestion!, asksAnew: true, parentSeq: target.parentSeq };
  }
  const question = page.pop();
  if (!question || question.seq !== target.parentSeq || question.role !== 'user') {
    throw notOnPath(`Message ${target.seq} does not answer a user message, so it cannot be regenerated.`);
  }
  return { history: page, question, asksAnew: false, parentSeq: question.seq };
}
