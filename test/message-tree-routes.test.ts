import { describe, expect, it } from 'vitest';
import type { HistoryMessageJson } from '../src/client/chatify-client.js';
import { ChatifyServer } from './support/chatify-server.js';
import type { RecordedRequest } from './support/fake-openai.js';
import { useModelAndServer } from './support/model-and-server.js';
import { forEachStore } from './support/stores.js';

interface TreeMessageJson {
  id: string;
  parent_id: string | null;
  role: 'user' | 'assistant';
  content: string;
  timestamp: string;
}

/** What the model was shown, after the system prompt, as "role: content". */
const shown = (request: RecordedRequest) => request.messages.slice(1).map((m) => `${m.role}: ${m.content}`);

forEachStore((kind) =>
  describe('regenerate, edit, select and the tree over HTTP', () => {
    // Every answer differs, so versions of a reply can be told apart.
    const ctx = useModelAndServer({ model: { reply: (request, index) => `Reply ${index} to: ${request.messages.at(-1)!.content}` } });
    it(`runs on ${kind}`, () => expect(ctx.server.chatify.store.kind).toBe(kind));

    const path = (id: string, rest = '') => `/api/v1/chatbot/session/${id}${rest}`;
    const session = async (id: string) => {
      const got = await ctx.server.get(path(id));
      expect(got.status).toBe(200);
      return got.body as { conversation_history: HistoryMessageJson[]; message_count: number; usage: { total_tokens: number } };
    };
    const contents = async (id: string) => (await session(id)).conversation_history.map((m) => m.content);
    const tree = async (id: string): Promise<TreeMessageJson[]> => {
      const all: TreeMessageJson[] = [];
      let after = '';
      for (;;) {
        const page = await ctx.server.get(path(id, `/tree?limit=3${after}`));
        expect(page.status).toBe(200);
        all.push(...(page.body.messages as TreeMessageJson[]));
        if (!page.body.has_more) return all;
        after = `&after=${page.body.next_after}`;
      }
    };
    const regenerate = (id: string, body?: unknown, headers: Record<string, string> = {}) =>
      ctx.server.request('POST', path(id, '/regenerate'), body, headers);
    const edit = (id: string, messageId: string, message: string) => ctx.server.post(path(id, `/messages/${messageId}/edit`), { message });
    const select = (id: string, messageId: string) => ctx.server.post(path(id, `/messages/${messageId}/select`));
    async function sessionWith(exchanges: number, user: string): Promise<string> {
      const id = await ctx.server.createSession(user);
      for (let i = 1; i <= exchanges; i++) expect((await ctx.server.send(id, `q${i}`)).status).toBe(200);
      return id;
    }

    it('regenerates twice: three sibling replies to the same context, the last active, the count unchanged; selecting the first makes it the context', async () => {
      const id = await sessionWith(2, 'u_regen');
      const before = await session(id);
      const seen = ctx.model.requests.length;
      const first = await regenerate(id);
      const second = await regenerate(id, {});
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(first.body).toMatchObject({ success: true, session_id: id, message_count: 2, message_id: '5' });
      expect(second.body).toMatchObject({ message_count: 2, message_id: '6', response: second.body.response });
      // The model saw exactly what the original reply answered, both times.
      const original = ctx.model.requests[seen - 1]!;
      expect(ctx.model.requests.slice(seen).map(shown)).toEqual([shown(original), shown(original)]);

      const after = await session(id);
      expect(after.message_count).toBe(2);
      expect(after.conversation_history.map((m) => [m.id, m.content, m.sibling_ids])).toEqual([
        ['1', 'q1', ['1']],
        ['2', before.conversation_history[1]!.content, ['2']],
        ['3', 'q2', ['3']],
        ['6', second.body.response, ['4', '5', '6']],
      ]);
      // Token usage counts every call.
      expect(after.usage.total_tokens).toBeGreaterThan(before.usage.total_tokens);

      const selected = await select(id, '4');
      expect(selected.status).toBe(200);
      expect(selected.body.message_count).toBe(2);
      const originalReply = before.conversation_history[3]!.content;
      expect(selected.body.conversation_history.at(-1)).toMatchObject({ id: '4', content: originalReply, sibling_ids: ['4', '5', '6'] });
      await ctx.server.send(id, 'q3');
      const context = shown(ctx.model.requests.at(-1)!);
      expect(context).toContain(`assistant: ${originalReply}`);
      expect(context).not.toContain(`assistant: ${first.body.response}`);
      expect(context).not.toContain(`assistant: ${second.body.response}`);
      expect(await contents(id)).toEqual(['q1', before.conversation_history[1]!.content, 'q2', originalReply, 'q3', expect.any(String)]);
    });

    it('regenerates an earlier reply by id: it becomes the end of the conversation', async () => {
      const id = await sessionWith(3, 'u_regen_earlier');
      const again = await regenerate(id, { message_id: '4' });
      expect(again.body).toMatchObject({ message_count: 2, message_id: '7' });
      expect(await contents(id)).toEqual(['q1', expect.any(String), 'q2', again.body.response]);
    });

    it('edits the second user message of a five-exchange session; the old branch stays in the tree and selecting it restores all five', async () => {
      const id = await sessionWith(5, 'u_edit');
      const five = await contents(id);
      const seen = ctx.model.requests.length;
      const edited = await edit(id, '3', 'q2, better');
      expect(edited.status).toBe(200);
      expect(edited.body).toMatchObject({ message_count: 2, message_id: '12', response: expect.stringContaining('q2, better') });
      // The model saw the first exchange and the new question, nothing of the old branch.
      expect(shown(ctx.model.requests[seen]!)).toEqual(['user: q1', `assistant: ${five[1]}`, 'user: q2, better']);

      const now = await session(id);
      expect(now.message_count).toBe(2);
      expect(now.conversation_history.map((m) => [m.id, m.parent_id, m.content, m.sibling_ids])).toEqual([
        ['1', null, 'q1', ['1']],
        ['2', '1', five[1], ['2']],
        ['11', '2', 'q2, better', ['3', '11']],
        ['12', '11', edited.body.response, ['12']],
      ]);
      const all = await tree(id);
      expect(all.map((m) => [m.id, m.parent_id, m.role, m.content])).toEqual([
        ...five.map((content, i) => [String(i + 1), i === 0 ? null : String(i), i % 2 === 0 ? 'user' : 'assistant', content]),
        ['11', '2', 'user', 'q2, better'],
        ['12', '11', 'assistant', edited.body.response],
      ]);
      expect(all.every((m) => !Number.isNaN(Date.parse(m.timestamp)))).toBe(true);

      const back = await select(id, '3');
      expect(back.body.message_count).toBe(5);
      expect(back.body.conversation_history.map((m: HistoryMessageJson) => m.content)).toEqual(five);
      expect(await contents(id)).toEqual(five);
    });

    it('orders a regenerate behind a send under way: it regenerates the reply that send stores', async () => {
      const id = await sessionWith(1, 'u_order');
      const held = ctx.model.holdNext();
      const send = ctx.server.send(id, 'q2');
      await held.arrived;
      const regen = regenerate(id);
      // The regenerate waits for the send; the model is not called again until the send is stored.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const calls = ctx.model.requests.length;
      held.release();
      const [sent, regenerated] = await Promise.all([send, regen]);
      expect(sent.body.message_count).toBe(2);
      expect(sent.body).not.toHaveProperty('message_id');
      expect(regenerated.body).toMatchObject({ message_count: 2, message_id: '5' });
      expect(ctx.model.requests.length).toBe(calls + 1);
      expect(shown(ctx.model.requests.at(-1)!).at(-1)).toBe('user: q2');
      expect((await session(id)).conversation_history.at(-1)).toMatchObject({ id: '5', sibling_ids: ['4', '5'] });
    });

    it('answers a regenerate retried with its Idempotency-Key with the same reply, without a second model call', async () => {
      const id = await sessionWith(1, 'u_keyed');
      const key = { 'idempotency-key': 'regen-once' };
      const first = await regenerate(id, undefined, key);
      const calls = ctx.model.requests.length;
      const retry = await regenerate(id, undefined, key);
      expect(retry.status).toBe(200);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.body).toEqual(first.body);
      expect(ctx.model.requests.length).toBe(calls);
      expect((await tree(id)).length).toBe(3);

      // A keyed edit likewise: once stored, its retry is the same answer.
      const editKey = { 'idempotency-key': 'edit-once' };
      const editPath = path(id, '/messages/1/edit');
      const edited = await ctx.server.request('POST', editPath, { message: 'hello again' }, editKey);
      const editCalls = ctx.model.requests.length;
      const editRetry = await ctx.server.request('POST', editPath, { message: 'hello again' }, editKey);
      expect([editRetry.status, editRetry.headers.get('idempotent-replayed')]).toEqual([200, 'true']);
      expect(editRetry.body).toEqual(edited.body);
      expect(ctx.model.requests.length).toBe(editCalls);
      const otherText = await ctx.server.request('POST', editPath, { message: 'something else' }, editKey);
      expect([otherText.status, otherText.body.error?.code]).toEqual([422, 'idempotency_key_reused']);
      expect((await tree(id)).length).toBe(5);
      // The same key on another kind of request is a client bug.
      const misused = await ctx.server.request('POST', path(id, '/message'), { message: 'hello' }, key);
      expect([misused.status, misused.body.error.code]).toEqual([422, 'idempotency_key_reused']);
    });

    it('streams a regenerate and an edit like a send: deltas, then done with the message id', async () => {
      const id = await sessionWith(1, 'u_stream');
      for (const [route, body, expected] of [
        ['/regenerate', undefined, { message_count: 1, message_id: '3' }],
        ['/messages/1/edit', { message: 'q1 again' }, { message_count: 1, message_id: '5' }],
      ] as const) {
        const res = await fetch(ctx.server.baseUrl + path(id, route), {
          method: 'POST',
          headers: { accept: 'text/event-stream', ...(body ? { 'content-type': 'application/json' } : {}) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        expect(res.headers.get('content-type')).toContain('text/event-stream');
        const events = [...(await res.text()).matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map(([, event, data]) => [event, JSON.parse(data!)]);
        const done = events.at(-1)!;
        expect(done[0]).toBe('done');
        expect(done[1]).toMatchObject(expected);
        const deltas = events.filter(([event]) => event === 'delta').map(([, data]) => data.text as string);
        expect(deltas.length).toBeGreaterThan(1);
        expect(deltas.join('')).toBe(done[1].response);
      }
      expect(await contents(id)).toEqual(['q1 again', expect.stringContaining('q1 again')]);
    });

    it('refuses what names nothing or the wrong message, changing nothing', async () => {
      const id = await sessionWith(2, 'u_refuse');
      await edit(id, '3', 'q2 edited');
      const before = await tree(id);
      const cases: [Promise<{ status: number; body: any }>, number, string][] = [
        [edit(id, '99', 'x'), 404, 'message_not_found'],
        [edit(id, 'nope', 'x'), 404, 'message_not_found'],
        [select(id, '99'), 404, 'message_not_found'],
        [regenerate(id, { message_id: '99' }), 404, 'message_not_found'],
        [regenerate(id, { message_id: '3' }), 422, 'invalid_message_target'],
        [edit(id, '2', 'x'), 422, 'invalid_message_target'],
        // On the old branch, not the active path: select it first.
        [edit(id, '3', 'x'), 422, 'invalid_message_target'],
        [regenerate(id, { message_id: '4' }), 422, 'invalid_message_target'],
        [regenerate(id, { message_id: 4 }), 422, 'validation_error'],
        [edit(id, '1', ''), 422, 'validation_error'],
        [ctx.server.get(path('3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c', '/tree')), 404, 'session_not_found'],
        [select('3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c', '1'), 404, 'session_not_found'],
      ];
      for (const [request, status, code] of cases) {
        const res = await request;
        expect([res.status, res.body.error?.code]).toEqual([status, code]);
      }
      expect(await tree(id)).toEqual(before);
    });

    it.runIf(kind !== 'sqlite')('continues the branch another instance chose, though the count is the same', async () => {
      const other = await ChatifyServer.start(ChatifyServer.modelEnv(ctx.model.url));
      try {
        expect(other.chatify.store.kind).toBe(kind);
        const id = await sessionWith(2, 'u_two_instances');
        // This instance holds the session in memory; the other makes a new last reply (same count).
        const regenerated = await other.post(path(id, '/regenerate'));
        expect(regenerated.body).toMatchObject({ message_count: 2, message_id: '5' });
        await ctx.server.send(id, 'q3');
        const context = shown(ctx.model.requests.at(-1)!);
        expect(context.at(-2)).toBe(`assistant: ${regenerated.body.response}`);
        expect((await session(id)).conversation_history.map((m) => m.parent_id)).toEqual([null, '1', '2', '3', '5', '6']);
      } finally {
        await other.close();
      }
    });

    it('refuses every change to an ended session (409) but still shows its tree', async () => {
      const id = await sessionWith(1, 'u_ended');
      expect((await ctx.server.del(path(id))).status).toBe(200);
      for (const res of [await regenerate(id), await edit(id, '1', 'again'), await select(id, '1')]) {
        expect([res.status, res.body.error?.code]).toEqual([409, 'session_ended']);
      }
      const streamed = await fetch(ctx.server.baseUrl + path(id, '/regenerate'), { method: 'POST', headers: { accept: 'text/event-stream' } });
      expect(streamed.status).toBe(409);
      expect((await tree(id)).length).toBe(2);
    });
  }),
);
