import { linkedSignal } from '../chat/linked-signal.js';
import { createHmac, randomUUID } from 'node:crypto';
import pRetry, { AbortError } from 'p-retry';
import type { Notification, Notifier } from '../people/notifier.js';
import { describeError, type NotifyLog } from './push-content.js';

export interface WebhookNotifierOptions {
  url: string;
  /** Signs each body (X-Chatify-Signature) so the receiver knows it came from us. */
  secret: string | undefined;
  /** Attempts after the first one. */
  retries: number;
  /** Longest wait for one attempt's response. */
  timeoutMs: number;
  log: NotifyLog;
  /** First backoff between attempts, doubled (with jitter) each time; tests make it small. */
  minTimeoutMs?: number;
  /** Longest backoff, and longest Retry-After we wait for. */
  maxDelayMs?: number;
  /** Deliveries under way (retries included) at most; past it new ones are dropped, so a dead receiver cannot pile up memory. */
  maxPending?: number;
}

/** The JSON a webhook receives, snake_case like the rest of the API. */
export interface WebhookPayload {
  type: 'message';
  user_id: string;
  connection_id: string;
  message: { id: string; seq: number; sender_id: string; content: string | null; timestamp: string };
  unread_count: number;
}

export const DELIVERY_HEADER = 'x-chatify-delivery';
export const SIGNATURE_HEADER = 'x-chatify-signature';

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes, as GitHub-style receivers expect. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function webhookPayload(notification: Notification): WebhookPayload {
  return {
    type: 'message',
    user_id: notification.recipientId,
    connection_id: notification.connectionId,
    message: {
      id: notification.messageId,
      seq: notification.seq,
      sender_id: notification.senderId,
      content: notification.text,
      timestamp: notification.timestamp,
    },
    unread_count: notification.unreadCount,
  };
}

/** An attempt that failed in a way worth another try (network, timeout, 429, 5xx). */
class RetryableFailure extends Error {
  override readonly name = 'RetryableFailure';
  constructor(
    message: string,
    /** The receiver's Retry-After, already capped. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * POSTs each notification to one URL, retrying with exponential backoff and jitter. Every attempt
 * of a notification carries the same X-Chatify-Delivery id so receivers can drop duplicates.
 */
export class WebhookNotifier implements Notifier {
  readonly name = 'webhook';
  readonly #options: Required<Omit<WebhookNotifierOptions, 'secret'>> & { secret: string | undefined };
  /** Aborted by close(): waits, retries and requests under way stop at once. */
  readonly #closing = new AbortController();
  readonly #pending = new Set<Promise<void>>();

  constructor(options: WebhookNotifierOptions) {
    this.#options = { minTimeoutMs: 1000, maxDelayMs: 60_000, maxPending: 10_000, ...options };
  }

  notify(notification: Notification): Promise<void> {
    if (this.#pending.size >= this.#options.maxPending) {
      this.#options.log.warn({ connectionId: notification.connectionId, pending: this.#pending.size }, 'webhook backlog full; notification dropped');
      return Promise.resolve();
    }
    const delivery = this.#deliver(notification);
    this.#pending.add(delivery);
    void delivery.finally(() => this.#pending.delete(delivery));
    return delivery;
  }

  async close(): Promise<void> {
    this.#closing.abort(new Error('The webhook notifier is closing.'));
    await Promise.allSettled([...this.#pending]);
  }

  async #deliver(notification: Notification): Promise<void> {
    if (this.#closing.signal.aborted) return;
    const { retries, minTimeoutMs, maxDelayMs, log } = this.#options;
    const deliveryId = randomUUID();
    const body = JSON.stringify(webhookPayload(notification));
    const headers = this.#headers(deliveryId, body);
    let attempts = 0;
    try {
      await pRetry(
        () => {
          attempts += 1;
          return this.#attempt(body, headers);
        },
        {
          retries,
          minTimeout: minTimeoutMs,
          maxTimeout: maxDelayMs,
          factor: 2,
          randomize: true,
          signal: this.#closing.signal,
          unref: true,
          // Only called when another attempt will follow: wait at least as long as the receiver asked.
          shouldRetry: async ({ error }) => {
            if (error instanceof RetryableFailure && error.retryAfterMs) await sleep(error.retryAfterMs, this.#closing.signal);
            return true;
          },
        },
      );
    } catch (error) {
      const closing = this.#closing.signal.aborted;
      log.warn(
        { notifier: this.name, delivery_id: deliveryId, connection_id: notification.connectionId, attempts, err: describeError(error) },
        closing ? 'webhook notification abandoned: shutting down' : 'webhook notification failed',
      );
    }
  }

  #headers(deliveryId: string, body: string): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'chatify',
      [DELIVERY_HEADER]: deliveryId,
    };
    if (this.#options.secret) headers[SIGNATURE_HEADER] = webhookSignature(this.#options.secret, body);
    return headers;
  }

  /** One POST: resolves on 2xx, throws RetryableFailure when trying again may help, AbortError when not. */
  async #attempt(body: string, headers: Record<string, string>): Promise<void> {
    const closing = this.#closing.signal;
    const link = linkedSignal(closing, AbortSignal.timeout(this.#options.timeoutMs));
    let response: Response;
    try {
      response = await fetch(this.#options.url, {
        method: 'POST',
        headers,
        body,
        // A redirect would turn the POST into a GET, or carry the signature elsewhere: treat it as a refusal.
        redirect: 'manual',
        signal: link.signal,
      });
    } catch (error) {
      link.dispose();
      if (closing.aborted) throw new AbortError('shutting down');
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new RetryableFailure(`no response within ${this.#options.timeoutMs} ms`);
      }
      throw new RetryableFailure(`request failed: ${describeError(error instanceof Error && error.cause ? error.cause : error)}`);
    }
    // The body is of no interest; reading it to the end frees the connection for reuse (still bounded by the timeout).
    await response.arrayBuffer().catch(() => undefined);
    link.dispose();
    if (response.ok) return;
    const { status } = response;
    if (status === 429 || status >= 500) {
      throw new RetryableFailure(`status ${status}`, retryAfterMs(response.headers.get('retry-after'), this.#options.maxDelayMs));
    }
    throw new AbortError(`status ${status}`);
  }
}

/** Retry-After in seconds or as an HTTP date, capped at `maxMs`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, maxMs: number, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), maxMs) : undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    timer.unref();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
