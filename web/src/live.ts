import { useEffect, useRef, useState } from 'react';
import type { LiveClientFrame, LiveServerFrame } from '../../src/client/chatify-client.js';
import { api, userStore } from './api.js';

export type LiveStatus = 'connecting' | 'live' | 'offline';

/** Frames the app reacts to; messages arrive here at most once per (connection_id, seq). */
export type LiveFrame = Exclude<LiveServerFrame, { type: 'pong' }>;

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const PING_EVERY_MS = 25_000;
/** No frame this long after a ping: the socket is dead even if the browser has not noticed. */
const PONG_WITHIN_MS = 10_000;
/** Send a typing signal at most this often while the user keeps typing. */
export const TYPING_SEND_EVERY_MS = 2_000;
/** Show "… is typing" for this long after a typing signal. */
export const TYPING_SHOW_MS = 4_000;

/**
 * The app's live socket: connects, reconnects with backoff after a drop and resumes with `after=`
 * (the last seq it has per connection), drops duplicate messages, and keeps the socket alive.
 */
export class LiveSocket {
  #socket: WebSocket | null = null;
  #stopped = false;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  /** The highest seq received per connection (sent as `after=` on reconnect). */
  readonly #lastSeq = new Map<string, number>();
  /** Seqs seen per connection, to drop duplicates that arrive out of order. */
  readonly #seen = new Map<string, Set<number>>();

  constructor(
    private readonly url: (after: ReadonlyMap<string, number>) => string,
    private readonly onFrame: (frame: LiveFrame) => void,
    private readonly onStatus: (status: LiveStatus) => void,
  ) {}

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#stopTimers();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onerror = socket.onopen = null;
      socket.close();
    }
  }

  /** Returns false when the socket is not open (the frame is dropped: typing signals need no retry). */
  send(frame: LiveClientFrame): boolean {
    if (this.#socket?.readyState !== WebSocket.OPEN) return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  /** Records that the app already has messages up to `seq` (e.g. loaded over HTTP), for resuming. */
  noteSeq(connectionId: string, seq: number): void {
    if (seq > (this.#lastSeq.get(connectionId) ?? 0)) this.#lastSeq.set(connectionId, seq);
  }

  #connect(): void {
    if (this.#stopped) return;
    this.onStatus('connecting');
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url(this.#lastSeq));
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.onmessage = (event) => this.#receive(event.data);
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#stopTimers();
      this.onStatus('offline');
      this.#scheduleReconnect();
    };
    socket.onopen = () => {
      this.#pingTimer = setInterval(() => {
        if (!this.send({ type: 'ping' })) return;
        clearTimeout(this.#pongTimer);
        this.#pongTimer = setTimeout(() => socket.close(), PONG_WITHIN_MS);
      }, PING_EVERY_MS);
    };
  }

  #receive(data: unknown): void {
    clearTimeout(this.#pongTimer);
    let frame: LiveServerFrame;
    try {
      frame = JSON.parse(String(data)) as LiveServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'pong':
        return;
      case 'ready':
        this.#attempt = 0;
        this.onStatus('live');
        break;
      case 'message': {
        const { connection_id: id, message } = frame;
        let seen = this.#seen.get(id);
        if (!seen) this.#seen.set(id, (seen = new Set()));
        if (seen.has(message.seq)) return;
        seen.add(message.seq);
        if (seen.size > 500) seen.delete(seen.values().next().value!);
        this.noteSeq(id, message.seq);
        break;
      }
    }
    this.onFrame(frame);
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.#attempt++);
    // Full jitter keeps many clients from reconnecting in step after a server restart.
    this.#retryTimer = setTimeout(() => this.#connect(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  #stopTimers(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
  }
}

/**
 * Owns the signed-in user's live socket while the component is mounted. `onFrame` may change on
 * every render; the latest one is called.
 */
export function useLive(
  userId: string,
  onFrame: (frame: LiveFrame) => void,
): { status: LiveStatus; send: (frame: LiveClientFrame) => boolean; noteSeq: (connectionId: string, seq: number) => void } {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const socket = useRef<LiveSocket | null>(null);
  const handler = useRef(onFrame);
  useEffect(() => {
    handler.current = onFrame;
  });

  useEffect(() => {
    const live = new LiveSocket(
      (after) => api.liveUrl({ userId, accessToken: userStore.token() ?? undefined, after }),
      (frame) => handler.current(frame),
      setStatus,
    );
    socket.current = live;
    live.start();
    return () => {
      live.stop();
      socket.current = null;
    };
  }, [userId]);

  const [actions] = useState(() => ({
    send: (frame: LiveClientFrame) => socket.current?.send(frame) ?? false,
    noteSeq: (connectionId: string, seq: number) => socket.current?.noteSeq(connectionId, seq),
  }));
  return { status, ...actions };
}

/** Who is typing where, each shown for TYPING_SHOW_MS after their last signal. */
export function useTyping(): {
  typing: ReadonlyMap<string, string>;
  onTyping: (connectionId: string, userId: string) => void;
  clear: (connectionId: string) => void;
} {
  const [typing, setTyping] = useState<ReadonlyMap<string, string>>(new Map());
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());

  useEffect(() => {
    const all = timers.current;
    return () => all.forEach((timer) => clearTimeout(timer));
  }, []);

  const clear = (connectionId: string) => {
    clearTimeout(timers.current.get(connectionId));
    timers.current.delete(connectionId);
    setTyping((now) => {
      if (!now.has(connectionId)) return now;
      const next = new Map(now);
      next.delete(connectionId);
      return next;
    });
  };
  const onTyping = (connectionId: string, userId: string) => {
    clearTimeout(timers.current.get(connectionId));
    timers.current.set(connectionId, setTimeout(() => clear(connectionId), TYPING_SHOW_MS));
    setTyping((now) => new Map(now).set(connectionId, userId));
  };
  return { typing, onTyping, clear };
}

/** Calls `send` at most once every TYPING_SEND_EVERY_MS while the user keeps typing. */
export function useTypingSignal(send: () => void): { typed: () => void; reset: () => void } {
  const last = useRef(0);
  return {
    typed: () => {
      const now = Date.now();
      if (now - last.current < TYPING_SEND_EVERY_MS) return;
      last.current = now;
      send();
    },
    reset: () => {
      last.current = 0;
    },
  };
}
