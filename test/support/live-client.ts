import WebSocket from 'ws';

/** A frame the server sent on the live socket (JSON). */
export type Frame = { type: string; [key: string]: any };

/**
 * A real WebSocket client of /api/v1/ws that keeps every frame it receives, so a test can wait for
 * one and later check that nothing else arrived.
 */
export class LiveClient {
  readonly frames: Frame[] = [];
  #waiters: { predicate: (frame: Frame) => boolean; resolve: (frame: Frame) => void }[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (!waiter.predicate(frame)) return true;
        waiter.resolve(frame);
        return false;
      });
    });
  }

  /** Connects and waits for "ready" (caught up and listening). */
  static async connect(baseUrl: string, query: Record<string, string>, headers: Record<string, string> = {}): Promise<LiveClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1/ws?${new URLSearchParams(query)}`;
    const socket = new WebSocket(url, { headers });
    const client = new LiveClient(socket);
    const ready = client.next((frame) => frame.type === 'ready');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => resolve());
        socket.once('unexpected-response', (_request, response) =>
          reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode })),
        );
        socket.once('error', reject);
      });
    } catch (error) {
      ready.catch(() => undefined); // never coming: the refusal is the answer
      throw error;
    }
    await ready;
    return client;
  }

  /** Resolves with the first frame (already received or still to come) that matches. */
  next(predicate: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const seen = this.frames.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)), timeoutMs);
      this.#waiters.push({
        predicate,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      });
    });
  }

  /** The message frames so far, optionally of one connection. */
  messages(connectionId?: string): Frame[] {
    return this.frames.filter((f) => f.type === 'message' && (connectionId === undefined || f.connection_id === connectionId));
  }

  /** Waits until `count` message frames of the connection have arrived. */
  async waitForMessages(connectionId: string, count: number, timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages(connectionId).length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.messages(connectionId).length} of ${count} messages arrived`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.messages(connectionId);
  }

  send(frame: object): void {
    this.socket.send(JSON.stringify(frame));
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close();
    await closed;
  }
}

/**
 * Sends a typing signal for `connectionId` from every socket, each every `everyMs`, for `forMs`
 * (within the per-socket frame budget); resolves once the server has handled them all (a pong on
 * each socket, as frames are answered in order), with how long that took in ms.
 */
export async function floodTyping(sockets: LiveClient[], connectionId: string, forMs: number, everyMs = 100): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < forMs) {
    for (const socket of sockets) socket.send({ type: 'typing', connection_id: connectionId });
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  const pongs = sockets.map((socket) => {
    const earlier = new Set(socket.frames);
    return socket.next((f) => f.type === 'pong' && !earlier.has(f));
  });
  for (const socket of sockets) socket.send({ type: 'ping' });
  await Promise.all(pongs);
  return Date.now() - started;
}
