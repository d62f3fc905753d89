import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TITLE_INSTRUCTIONS } from '../../src/chat/session-titles.js';
import { SUMMARY_INSTRUCTIONS } from '../../src/chat/session-summaries.js';
import { MEMORY_INSTRUCTIONS } from '../../src/chat/memory-learning.js';

/** What a housekeeping request (summary, memory) gets instead of its normal answer. */
export type HousekeepingFault = { status: number } | { hang: true } | { text: string };

/** One kind of housekeeping request: recorded apart from replies, with faults of its own. */
export interface HousekeepingChannel {
  readonly requests: RecordedRequest[];
  /** Requests of the kind that arrived, recorded or not. */
  count: number;
  /** Consumed one per request, in order. */
  readonly faults: HousekeepingFault[];
  /** When set, every request of the kind gets it (after `faults`). */
  always: HousekeepingFault | undefined;
  reply: (request: RecordedRequest) => string;
}

function housekeepingChannel(reply: (request: RecordedRequest) => string): HousekeepingChannel {
  return { requests: [], count: 0, faults: [], always: undefined, reply };
}

/** A chat completions request as the fake model received it. */
export interface RecordedRequest {
  model: string;
  messages: { role: string; content: string; [extra: string]: unknown }[];
  temperature?: number;
  max_tokens?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  stream?: boolean;
  [extra: string]: unknown;
}

/** How long the fake model itself took for one request, keyed by its last user message. */
export interface ModelTiming {
  key: string;
  /** From the request's arrival to the first token written (to the whole answer when not streaming). */
  firstTokenMs: number;
  /** From the request's arrival to the end of the answer. */
  totalMs: number;
}

/** What the next request suffers instead of a normal answer. */
export type Fault =
  | { status: number; retryAfterSeconds?: number; body?: string }
  | { hang: true }
  /** Starts answering (headers, and for streams this many tokens), then goes silent. */
  | { stallAfterTokens: number }
  /**
   * Streams this many tokens, then ends the body cleanly but early: no finish_reason, no [DONE]
   * (`cut`: drops the connection instead).
   */
  | { endAfterTokens: number; cut?: boolean };

/** An error answer in OpenAI's shape, as a provider refusing the request itself sends it. */
export function providerError(status: number, message: string, code: string | null = null): Fault {
  return { status, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } }) };
}

export interface FakeOpenAiOptions {
  /** The reply text for a request; by default echoes the last user message. */
  reply?: (request: RecordedRequest, index: number) => string;
  /** Delay before answering (before the first token when streaming), fixed or per request index. */
  latencyMs?: number | ((index: number) => number);
  /** Delay between streamed tokens. */
  tokenDelayMs?: number;
  /** Keep a ModelTiming per answered request (benchmarks). */
  recordTimings?: boolean;
  /** Keep every request body in `requests` (tests); off for long benchmark runs. */
  recordRequests?: boolean;
}

/**
 * An OpenAI-compatible HTTP server for tests: POST /v1/chat/completions with JSON or SSE answers,
 * every request recorded, latency and faults (429, 500, hangs) injectable per request.
 */
export class FakeOpenAi {
  readonly requests: RecordedRequest[] = [];
  /** Consumed one per request, in order; when empty, requests succeed. */
  readonly faults: Fault[] = [];
  /** Called for every request not taken by `faults`; a fault to inject, or undefined. */
  randomFault: (() => Fault | undefined) | undefined;
  reply: (request: RecordedRequest, index: number) => string;
  /**
   * Title requests (housekeeping, told apart by their system prompt) are answered on their own: at
   * once, with `titleReply`, never counted in `requests`, `attempts` or latency indexes, and never
   * taking `faults` or holds meant for replies. `titleFaults` are theirs (HTTP status faults only).
   */
  readonly titleRequests: RecordedRequest[] = [];
  readonly titleFaults: { status: number }[] = [];
  /** When set, every title request fails with this status. */
  failTitles: number | undefined;
  titleReply: (request: RecordedRequest) => string = () => 'A Conversation About Things';
  /** Title requests that arrived, recorded or not. */
  titleCount = 0;
  /**
   * Summary and memory requests, answered on their own like titles. A summary by default is the
   * request's "User: …" lines (the old summary kept); memories by default are none.
   */
  readonly summaries = housekeepingChannel((request) => {
    const content = request.messages.at(-1)?.content ?? '';
    const old = /Summary so far:\n([\s\S]*?)\n\nNew messages:/.exec(content)?.[1] ?? '';
    const said = content.split('\n').filter((line) => line.startsWith('User: '));
    return [...(old === '(none yet)' ? [] : [old]), ...said].join('\n');
  });
  readonly memories = housekeepingChannel(() => JSON.stringify({ facts: [] }));
  latencyMs: number | ((index: number) => number);
  tokenDelayMs: number;
  /** Requests that arrived, including faulted ones. */
  attempts = 0;
  /** When each streamed answer sent its last piece (Date.now()). */
  readonly streamEndTimes: number[] = [];
  readonly timings: ModelTiming[] = [];
  readonly #recordTimings: boolean;
  readonly #recordRequests: boolean;
  #answered = 0;
  readonly #holds: { arrive: () => void; released: Promise<void> }[] = [];
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  #url = '';

  constructor(options: FakeOpenAiOptions = {}) {
    this.reply = options.reply ?? ((request) => `Reply to: ${lastUserMessage(request)}`);
    this.latencyMs = options.latencyMs ?? 0;
    this.tokenDelayMs = options.tokenDelayMs ?? 0;
    this.#recordTimings = options.recordTimings ?? false;
    this.#recordRequests = options.recordRequests ?? true;
  }

  static async start(options?: FakeOpenAiOptions): Promise<FakeOpenAi> {
    const fake = new FakeOpenAi(options);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}/v1`;
    return fake;
  }

  /** Base URL to give the SDK (OPENAI_BASE_URL). */
  get url(): string {
    return this.#url;
  }

  /**
   * Holds the next request to be answered once it has arrived, until `release()`: `arrived`
   * resolves then, so a test can act while a reply is known to be under way.
   */
  holdNext(): { arrived: Promise<void>; release: () => void } {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    this.#holds.push({ arrive, released: new Promise<void>((resolve) => (release = resolve)) });
    return { arrived, release };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrived = performance.now();
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest;
    if (body.messages[0]?.role === 'system' && body.messages[0].content === TITLE_INSTRUCTIONS) {
      this.titleCount += 1;
      if (this.#recordRequests) this.titleRequests.push(body);
      const status = this.titleFaults.shift()?.status ?? this.failTitles;
      if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `injected ${status}` } }));
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(body, this.titleReply(body))));
      return;
    }
    const housekeeping = body.messages[0]?.role === 'system' ? this.#housekeeping(body.messages[0].content) : undefined;
    if (housekeeping) {
      housekeeping.count += 1;
      if (this.#recordRequests) housekeeping.requests.push(body);
      const fault = housekeeping.faults.shift() ?? housekeeping.always;
      if (fault && 'hang' in fault) return;
      if (fault && 'status' in fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `injected ${fault.status}` } }));
        return;
      }
      const text = fault && 'text' in fault ? fault.text : housekeeping.reply(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(body, text)));
      return;
    }
    this.attempts += 1;

    const fault = this.faults.shift() ?? this.randomFault?.();
    if (fault && 'hang' in fault) return; // never answer: the client's timeout must fire
    if (fault && 'stallAfterTokens' in fault) {
      res.writeHead(200, { 'content-type': body.stream ? 'text/event-stream' : 'application/json' });
      const text = tokens(this.reply(body, this.#answered)).slice(0, fault.stallAfterTokens);
      for (const token of text) {
        res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: now(), model: body.model, choices: [{ index: 0, delta: { content: token }, finish_reason: null }] })}\n\n`);
      }
      return; // and never finish
    }
    if (fault && 'endAfterTokens' in fault) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id: 'x', object: 'chat.completion.chunk', created: now(), model: body.model };
      for (const token of tokens(this.reply(body, this.#answered)).slice(0, fault.endAfterTokens)) {
        res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: token }, finish_reason: null }] })}\n\n`);
      }
      if (fault.cut) res.write('', () => res.destroy());
      else res.end();
      return;
    }
    if (fault) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      res.writeHead(fault.status, headers).end(fault.body ?? JSON.stringify({ error: { message: `injected ${fault.status}` } }));
      return;
    }

    const index = this.#answered++;
    if (this.#recordRequests) this.requests.push(body);
    const hold = this.#holds.shift();
    if (hold) {
      hold.arrive();
      await hold.released;
    }
    const text = this.reply(body, index);
    await sleep(typeof this.latencyMs === 'number' ? this.latencyMs : this.latencyMs(index));
    if (res.destroyed) return;
    let firstToken: number;
    if (body.stream) firstToken = await this.#stream(res, body, text);
    else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion(body, text)));
      firstToken = performance.now();
    }
    if (this.#recordTimings) {
      const done = performance.now();
      this.timings.push({ key: lastUserMessage(body), firstTokenMs: firstToken - arrived, totalMs: done - arrived });
    }
  }

  #housekeeping(instructions: unknown): HousekeepingChannel | undefined {
    if (instructions === SUMMARY_INSTRUCTIONS) return this.summaries;
    if (instructions === MEMORY_INSTRUCTIONS) return this.memories;
    return undefined;
  }

  /** Streams the answer; returns when (performance.now()) the first token was written. */
  async #stream(res: ServerResponse, body: RecordedRequest, text: string): Promise<number> {
    let firstToken = 0;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: now(), model: body.model };
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (const token of tokens(text)) {
      if (res.destroyed) return firstToken;
      send({ ...base, choices: [{ index: 0, delta: { content: token }, finish_reason: null }] });
      firstToken ||= performance.now();
      await sleep(this.tokenDelayMs);
    }
    send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: usage(body, text) });
    res.end('data: [DONE]\n\n');
    this.streamEndTimes.push(Date.now());
    return firstToken;
  }
}

export function lastUserMessage(request: RecordedRequest): string {
  return [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
}

/** Splits text into word-sized pieces that join back to exactly the text. */
export function tokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [text];
}

function completion(body: RecordedRequest, text: string) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: now(),
    model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: usage(body, text),
  };
}

function usage(body: RecordedRequest, text: string) {
  const prompt = body.messages.reduce((sum, m) => sum + Math.ceil(m.content.length / 4), 0);
  const completionTokens = Math.ceil(text.length / 4);
  return { prompt_tokens: prompt, completion_tokens: completionTokens, total_tokens: prompt + completionTokens };
}

const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms: number) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
