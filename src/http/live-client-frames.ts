import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ChatError } from '../chat/errors.js';
import type { ConnectionService } from '../people/connection-service.js';
import { messageJson } from './schemas/connections.js';

const ConnectionId = Type.String({ maxLength: 64 });
const ClientId = Type.String({ pattern: '^[\\x21-\\x7e]{1,255}$' });

/** What a client may send on its live socket. */
const ClientFrame = Type.Union([
  Type.Object({ type: Type.Literal('send'), connection_id: ConnectionId, content: Type.String(), client_id: Type.Optional(ClientId) }),
  Type.Object({ type: Type.Literal('read'), connection_id: ConnectionId, up_to: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }) }),
  Type.Object({ type: Type.Literal('typing'), connection_id: ConnectionId }),
  Type.Object({ type: Type.Literal('ping') }),
]);

/** Frames a client may send: a burst of this many, refilled at FRAMES_PER_SECOND. Past it they are refused. */
const FRAME_BURST = 20;
const FRAMES_PER_SECOND = 5;

export interface FrameContext {
  userId: string;
  ip: string;
  connections: ConnectionService;
  /** The people-message rate limit: seconds to wait, or null. */
  messageWait: (userId: string, ip: string) => Promise<number | null>;
  /** The read-receipt rate limit: seconds to wait, or null. */
  readReceiptWait: (userId: string) => Promise<number | null>;
  /** Whether to relay a typing signal (one a second per user and connection, over all their sockets). */
  typingAllowed: (userId: string, connectionId: string) => Promise<boolean>;
  reply: (frame: object) => void;
}

export const errorFrame = (code: string, message: string, clientId?: string) => ({
  type: 'error',
  ...(clientId === undefined ? {} : { client_id: clientId }),
  error: { code, message },
});

/**
 * One socket's incoming frames: sending a message (acknowledged with "sent" once stored, the
 * client_id doubling as its Idempotency-Key), read receipts, typing signals and pings. Each frame
 * gets an answer or an error frame; none closes the socket.
 */
export class ClientFrames {
  #budget = FRAME_BURST;
  #budgetAt = Date.now();
  /** Frames are answered in the order they came: two sends are stored in the order they were sent. */
  #queue: Promise<void> = Promise.resolve();

  constructor(private readonly context: FrameContext) {}

  receive(text: string | undefined): Promise<void> {
    // Counted on arrival, so a flood is refused at once instead of queueing up.
    if (!this.#spend()) {
      this.context.reply(errorFrame('rate_limited', 'Too many frames; slow down.'));
      return this.#queue;
    }
    this.#queue = this.#queue.then(() => this.#receive(text));
    return this.#queue;
  }

  async #receive(text: string | undefined): Promise<void> {
    const { reply } = this.context;
    let frame: unknown;
    try {
      frame = text === undefined ? undefined : JSON.parse(text);
    } catch {
      // answered below
    }
    if (!Value.Check(ClientFrame, frame)) {
      return reply(errorFrame('invalid_frame', 'Send JSON text frames of type send, read, typing or ping (see /docs).'));
    }
    const clientId = frame.type === 'send' ? frame.client_id : undefined;
    try {
      await this.#answer(frame);
    } catch (error) {
      const known = error instanceof ChatError;
      reply(errorFrame(known ? error.code : 'internal_error', known ? error.message : 'That did not work; try again.', clientId));
    }
  }

  async #answer(frame: Static<typeof ClientFrame>): Promise<void> {
    const { userId, ip, connections, reply } = this.context;
    switch (frame.type) {
      case 'ping':
        return reply({ type: 'pong' });
      case 'send': {
        const wait = await this.context.messageWait(userId, ip);
        if (wait !== null) throw new ChatError('rate_limited', `Too many messages. Try again in ${wait} seconds.`);
        const { message } = await connections.send(frame.connection_id, userId, frame.content, frame.client_id);
        return reply({ type: 'sent', ...(frame.client_id === undefined ? {} : { client_id: frame.client_id }), message: messageJson(message) });
      }
      case 'read': {
        const wait = await this.context.readReceiptWait(userId);
        if (wait !== null) throw new ChatError('rate_limited', `Too many read receipts. Try again in ${wait} seconds.`);
        await connections.markRead(frame.connection_id, userId, frame.up_to);
        return;
      }
      case 'typing':
        // Dropped, not refused: a client sends these while a key is pressed and needs no answer.
        if (!(await this.context.typingAllowed(userId, frame.connection_id))) return;
        return connections.typing(frame.connection_id, userId);
    }
  }

  #spend(): boolean {
    const now = Date.now();
    this.#budget = Math.min(FRAME_BURST, this.#budget + ((now - this.#budgetAt) / 1000) * FRAMES_PER_SECOND);
    this.#budgetAt = now;
    if (this.#budget < 1) return false;
    this.#budget -= 1;
    return true;
  }
}
