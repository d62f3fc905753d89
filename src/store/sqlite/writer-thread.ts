/**
 * The SQLite writer thread: owns the only write connection and commits batches of writes, so
 * the main thread never waits for a disk flush.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openConnection, type Synchronous } from './connection.js';
import { commitBatch, prepareWrites, type WriteOp } from './writes.js';

export type WriterRequest = { type: 'batch'; id: number; ops: WriteOp[] } | { type: 'close' };
export type WriterReply =
  | { type: 'ready' }
  | { type: 'committed'; batches: { id: number; outcomes: ReturnType<typeof commitBatch> }[] }
  | { type: 'failed'; ids: number[]; error: string }
  | { type: 'closed' };

const { path, synchronous } = workerData as { path: string; synchronous: Synchronous };
const db = openConnection(path, synchronous);
const sql = prepareWrites(db);
const port = parentPort!;
// The database is open (a file that cannot be opened ends the thread here): writes can be made.
port.postMessage({ type: 'ready' } satisfies WriterReply);

/** Batches that arrived while the last transaction was committing: they share the next one. */
let waiting: { id: number; ops: WriteOp[] }[] = [];

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    commitWaiting();
    db.close();
    port.postMessage({ type: 'closed' } satisfies WriterReply);
    return;
  }
  waiting.push(request);
  // Messages that queued up during a commit are all delivered before this runs.
  if (waiting.length === 1) setImmediate(commitWaiting);
});

function commitWaiting(): void {
  const batches = waiting;
  waiting = [];
  if (batches.length === 0) return;
  try {
    const outcomes = commitBatch(db, sql, batches.flatMap((batch) => batch.ops));
    let next = 0;
    const committed = batches.map(({ id, ops }) => ({ id, outcomes: outcomes.slice(next, (next += ops.length)) }));
    port.postMessage({ type: 'committed', batches: committed } satisfies WriterReply);
  } catch (error) {
    port.postMessage({ type: 'failed', ids: batches.map((batch) => batch.id), error: String(error) } satisfies WriterReply);
  }
}
