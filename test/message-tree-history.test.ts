import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewMessage } from '../src/chat/types.js';
import type { HistoryMessageJson } from '../src/client/chatify-client.js';
import { ChatifyServer } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';
import { forEachStore } from './support/stores.js';

const reply = (content: string): NewMessage => ({
  role: 'assistant',
  content,
  tokens: 3,
  createdAt: new Date().toISOString(),
  usage: { promptTokens: 1, completionTokens: 1 },
});

/** Each message of `conversation_history` as [content, id, parent_id, sibling_ids]. */
const placed = (history: HistoryMessageJson[]) => history.map((m) => [m.content, m.id, m.parent_id, m.sibling_ids]);

forEachStore((kind) =>
  describe('conversation_history as the active path of a tree', () => {
    let model: FakeOpenAi;
    let server: ChatifyServer;
    beforeAll(async () => {
      model = await FakeOpenAi.start();
      model.reply = (request) => `Reply to: ${request.messages.at(-1)!.content}`;
      server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
      expect(server.chatify.store.kind).toBe(kind);
    });
    afterAll(async () => {
      await server.close();
      await model.close();
    });
    const history = async (id: string, query = '') => {
      const got = await server.get(`/api/v1/chatbot/session/${id}${query}`);
      expect(got.status).toBe(200);
      return got.body as { conversation_history: HistoryMessageJson[]; message_count: number; has_more: boolean; next_before: number | null };
    };

    it('gives each message its id, its parent and itself as its only version on a fresh conversation', async () => {
      const id = await server.createSession('u_tree_fresh');
      expect((await history(id)).conversation_history).toEqual([]);
      await server.send(id, 'one');
      await server.send(id, 'two');
      const got = await history(id);
      expect(placed(got.conversation_history)).toEqual([
        ['one', '1', null, ['1']],
        ['Reply to: one', '2', '1', ['2']],
        ['two', '3', '2', ['3']],
        ['Reply to: two', '4', '3', ['4']],
      ]);
      expect(got.conversation_history.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    });

    it('shows the active path of a branched session with every version of each message, page by page', async () => {
      const id = await server.createSession('u_tree_branch');
      await server.send(id, 'one');
      await server.send(id, 'two');
      // A second reply to "two" (seq 3), made the active leaf: a sibling of the first one (seq 4).
      const store = server.chatify.store;
      expect(await store.appendExchange(id, [reply('two, again')], new Date().toISOString(), 4, 3)).toMatchObject({ messageCount: 2 });
      const branched = await history(id);
      expect(branched.message_count).toBe(2);
      expect(placed(branched.conversation_history)).toEqual([
        ['one', '1', null, ['1']],
        ['Reply to: one', '2', '1', ['2']],
        ['two', '3', '2', ['3']],
        ['two, again', '5', '3', ['4', '5']],
      ]);

      // Back to the first reply; a page of two, then the page before it.
      expect(await store.selectMessage(id, 4)).toMatchObject({ messageCount: 2 });
      const newest = await history(id, '?limit=2');
      expect(placed(newest.conversation_history)).toEqual([
        ['two', '3', '2', ['3']],
        ['Reply to: two', '4', '3', ['4', '5']],
      ]);
      expect(newest).toMatchObject({ has_more: true, next_before: 3 });
      const older = await history(id, '?limit=2&before=3');
      expect(placed(older.conversation_history)).toEqual([
        ['one', '1', null, ['1']],
        ['Reply to: one', '2', '1', ['2']],
      ]);
      expect(older.has_more).toBe(false);

      // A send goes on from the selected path.
      const sent = await server.send(id, 'three');
      expect(sent.body.message_count).toBe(3);
      expect(placed((await history(id)).conversation_history).slice(3)).toEqual([
        ['Reply to: two', '4', '3', ['4', '5']],
        ['three', '6', '4', ['6']],
        ['Reply to: three', '7', '6', ['7']],
      ]);
    });
  }),
);
