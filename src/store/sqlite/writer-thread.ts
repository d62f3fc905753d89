/**
 * The SQLite writer thread: owns the only write connection and commits batches of writes, so
 * the main thread never waits for a disk flush.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openConnection, type Synchronous } from './connection.js';
import { commitBatch, prepareWrites, type WriteOp } from './writes.js';

export type WriterRequest = { type: 'batch'; id: number; ops: WriteOp[] } | { type: 'close' };
export type WriterReply =
  | { type: 'batch'; id: number; outcomes: ReturnType<typeof commitBatch> }
  | { type: 'failed'; id: number; error: string }
  | { type: 'closed' };

const { path, synchronous } = workerData as { path: string; synchronous: Synchronous };
const db = openConnection(path, synchronous);
const sql = prepareWrites(db);
const port = parentPort!;

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    db.close();
    port.postMessage({ type: 'closed' } satisfies WriterReply);
    return;
  }
  try {
    port.postMessage({ type: 'batch', id: request.id, outcomes: commitBatch(db, sql, request.ops) } satisfies WriterReply);
  } catch (error) {
    port.postMessage({ type: 'failed', id: request.id, error: String(error) } satisfies WriterReply);
  }
});
