import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi, providerError } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';
import { readEvents } from './support/sse.js';

/**
 * A provider that refuses the request itself (400, 404, 413, 422) is not having an outage: the
 * refusal reaches the client as 422 model_refused with the provider's reason, is neither retried nor
 * sent to the fallback model, and does not count toward the circuit breaker.
 */
const REFUSALS = [
  { status: 400, message: "This model's maximum context length is 8192 tokens.", code: 'context_length_exceeded' },
  { status: 404, message: 'The model `gpt-nonexistent` does not exist or you do not have access to it.', code: 'model_not_found' },
  { status: 413, message: 'Request too large for this model.', code: null },
  { status: 422, message: 'Unrecognized request argument supplied: presence_penalty', code: null },
  { status: 400, message: "The response was filtered due to the prompt triggering the content management policy.", code: 'content_filter' },
];

for (const thread of ['true', 'false']) {
  describe(`requests the model refuses (LLM_THREAD=${thread})`, () => {
    let model: FakeOpenAi;
    let server: ChatifyServer;
    beforeAll(async () => {
      model = await FakeOpenAi.start();
      server = await ChatifyServer.start(
        ChatifyServer.modelEnv(model.url, {
          LLM_THREAD: thread,
          LLM_MAX_RETRIES: '2',
          LLM_FALLBACK_MODEL: 'backup-model',
          LLM_BREAKER_FAILURES: '5',
          LLM_BREAKER_RESET_MS: '60000',
        }),
      );
    });
    afterAll(async () => {
      await server?.close();
      await model?.close();
    });
    beforeEach(() => {
      model.faults.length = 0;
    });

    it('answers 422 model_refused with the reason, tries once, and leaves other users unaffected', async () => {
      const a = await server.createSession(`user_a_${thread}`);
      const b = await server.createSession(`user_b_${thread}`);
      await server.chatify.housekeeping.idle();
      const before = dumpDatabase(server.databasePath);
      for (const [i, refusal] of REFUSALS.entries()) {
        model.faults.push(providerError(refusal.status, refusal.message, refusal.code));
        const attempts = model.attempts;
        const res = await server.send(a, `refused ${i}`);
        expect(res.status, JSON.stringify(res.body)).toBe(422);
        const reason = `The model refused this request: ${refusal.message}`;
        expect(res.body).toEqual({ success: false, error: { code: 'model_refused', message: reason }, detail: reason });
        // Not retried, and no fallback model asked.
        expect(model.attempts - attempts).toBe(1);
      }
      expect(model.requests.filter((r) => r.model === 'backup-model')).toEqual([]);
      expect(dumpDatabase(server.databasePath)).toBe(before);

      // Five refusals opened no circuit: user B is answered by the model.
      const attempts = model.attempts;
      const answer = await server.send(b, 'hello from B');
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.response).toBe('Reply to: hello from B');
      expect(model.attempts - attempts).toBe(1);
      // And A's conversation holds none of the refused messages.
      const again = await server.send(a, 'something else');
      expect(again.body.message_count).toBe(1);
      expect(model.requests.at(-1)!.messages.map((m) => m.content).filter((c) => c.startsWith('refused'))).toEqual([]);
    });

    it('ends a stream with an error event model_refused, storing nothing', async () => {
      const id = await server.createSession(`user_stream_${thread}`);
      await server.chatify.housekeeping.idle();
      const before = dumpDatabase(server.databasePath);
      model.faults.push(providerError(400, 'Invalid value for temperature.'));
      const res = await fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ message: 'hot take' }),
      });
      expect(res.status).toBe(200);
      const events = await readEvents(res);
      expect(events.map(({ event, data }) => ({ event, data }))).toEqual([
        { event: 'error', data: { code: 'model_refused', message: 'The model refused this request: Invalid value for temperature.' } },
      ]);
      expect(dumpDatabase(server.databasePath)).toBe(before);
    });

    it('keeps a long reason on one line and bounded, and says so when there is none', async () => {
      const id = await server.createSession(`user_long_${thread}`);
      model.faults.push(providerError(400, `Too long:\n${'x'.repeat(5000)}`));
      const long = await server.send(id, 'long reason');
      expect(long.status).toBe(422);
      expect(long.body.error.message).toMatch(/^The model refused this request: Too long: x+…$/);
      expect(long.body.error.message.length).toBeLessThanOrEqual(400);

      model.faults.push({ status: 413, body: '' });
      const bare = await server.send(id, 'no reason');
      expect(bare.status).toBe(422);
      expect(bare.body.error).toEqual({
        code: 'model_refused',
        message: 'The model refused this request: the model server answered 413 without a reason',
      });
    });
  });
}
