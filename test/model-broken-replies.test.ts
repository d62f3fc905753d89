import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAi, lastUserMessage, type Fault } from './support/fake-openai.js';
import { ChatifyServer, dumpDatabase } from './support/chatify-server.js';
import { readEvents } from './support/sse.js';

/**
 * A reply is whole only when the model says so: a stream that just ends (no finish_reason, no
 * [DONE]) or a JSON answer without a choice or its content is a failed call, like a dropped
 * connection: provider_error, and nothing stored.
 */
for (const thread of ['true', 'false']) {
  describe(`replies that are not whole (LLM_THREAD=${thread})`, () => {
    let model: FakeOpenAi;
    let server: ChatifyServer;
    beforeAll(async () => {
      model = await FakeOpenAi.start({ reply: () => 'One two three four five six seven eight.' });
      server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url, { LLM_THREAD: thread }));
    });
    afterAll(async () => {
      await server?.close();
      await model?.close();
    });
    beforeEach(() => {
      model.faults.length = 0;
    });

    const stream = (id: string, message: string) =>
      fetch(`${server.baseUrl}/api/v1/chatbot/session/${id}/message?stream=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message }),
      });

    /** After a failed send, the session goes on as if it had never been sent. */
    async function expectUntouched(id: string, before: string, failed: string) {
      expect(dumpDatabase(server.databasePath)).toBe(before);
      const next = await server.send(id, 'still there?');
      expect(next.status).toBe(200);
      expect(next.body.message_count).toBe(1);
      expect(model.requests.at(-1)!.messages.map((m) => m.content)).not.toContain(failed);
    }

    for (const [name, fault] of [
      ['ends without finish_reason or [DONE]', { endAfterTokens: 3 }],
      ['drops the connection', { endAfterTokens: 3, cut: true }],
    ] as const) {
      it(`a stream that ${name} ends with an error event, storing nothing`, async () => {
        const id = await server.createSession(`user_broken_${thread}`);
        // Titles of earlier sessions are written beside their replies: let them land first.
        await server.chatify.housekeeping.idle();
        const before = dumpDatabase(server.databasePath);
        model.faults.push(fault);
        const events = await readEvents(await stream(id, 'tell me all eight'));
        expect(events.filter((e) => e.event === 'delta').map((e) => e.data.text).join('')).toBe('One two three');
        expect(events.at(-1)).toMatchObject({ event: 'error', data: { code: 'provider_error', message: expect.any(String) } });
        expect(events.filter((e) => e.event !== 'delta')).toHaveLength(1);
        await expectUntouched(id, before, 'tell me all eight');
      });
    }

    const whole = (choices: unknown): Fault => ({
      status: 200,
      body: JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices }),
    });
    for (const [name, fault] of [
      ['no choices', whole([])],
      ['no choices field', { status: 200, body: '{"id":"x","object":"chat.completion"}' }],
      ['null content', whole([{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'stop' }])],
    ] as const) {
      it(`a whole reply with ${name} is a 502 provider_error, storing nothing`, async () => {
        const id = await server.createSession(`user_broken_${thread}`);
        // Titles of earlier sessions are written beside their replies: let them land first.
        await server.chatify.housekeeping.idle();
        const before = dumpDatabase(server.databasePath);
        model.faults.push(fault);
        const res = await server.send(id, 'answer me');
        expect(res.status).toBe(502);
        expect(res.body).toMatchObject({ success: false, error: { code: 'provider_error' } });
        await expectUntouched(id, before, 'answer me');
      });
    }

    it('a stream that ends with a finish_reason is whole', async () => {
      const id = await server.createSession(`user_broken_${thread}`);
      const events = await readEvents(await stream(id, 'all of it'));
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { response: 'One two three four five six seven eight.' } });
      expect(lastUserMessage(model.requests.at(-1)!)).toBe('all of it');
    });
  });
}
