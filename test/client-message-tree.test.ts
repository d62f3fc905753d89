import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatifyClient, ChatifyError } from '../src/client/chatify-client.js';
import { ChatifyServer } from './support/chatify-server.js';
import { FakeOpenAi } from './support/fake-openai.js';

describe('the typed client on the message tree', () => {
  let model: FakeOpenAi;
  let server: ChatifyServer;
  let client: ChatifyClient;
  beforeAll(async () => {
    model = await FakeOpenAi.start();
    model.reply = (request, index) => `Reply ${index} to: ${request.messages.at(-1)!.content}`;
    server = await ChatifyServer.start(ChatifyServer.modelEnv(model.url));
    client = new ChatifyClient({ baseUrl: server.baseUrl });
  });
  afterAll(async () => {
    await server.close();
    await model.close();
  });

  it('regenerates (streamed), edits, switches branch, pages the tree, exports and imports', async () => {
    const { session_id: id } = await client.createSession('u_client_tree');
    const sent = await client.sendMessage(id, 'hello');
    const pieces: string[] = [];
    const again = await client.regenerate(id, undefined, { onDelta: (text) => pieces.push(text) });
    expect(again).toMatchObject({ message_count: 1, message_id: '3' });
    expect(pieces.join('')).toBe(again.response);
    const edited = await client.editMessage(id, '1', 'hello there');
    expect(edited.message_id).toBe('5');
    const back = await client.selectMessage(id, '3');
    expect(back.conversation_history.map((m) => [m.id, m.sibling_ids])).toEqual([['1', ['1', '4']], ['3', ['2', '3']]]);
    const page = await client.getTree(id, { limit: 2, after: '1' });
    expect([page.messages.map((m) => m.id), page.next_after]).toEqual([['2', '3'], '3']);
    const file = await client.exportSession(id);
    expect(file.messages).toHaveLength(5);
    expect(await client.exportMarkdown(id)).toContain(again.response!);
    const copy = await client.importSession(file, 'u_client_copy');
    expect(copy).toMatchObject({ user_id: 'u_client_copy', message_count: 1 });
    expect(copy.conversation_history.at(-1)?.content).toBe(again.response);
    await expect(client.regenerate(id, '1')).rejects.toMatchObject({ status: 422, code: 'invalid_message_target' });
    await expect(client.selectMessage(id, '42')).rejects.toBeInstanceOf(ChatifyError);
    expect(sent.response).toContain('hello');
  });
});
