import { describe, expect, it } from 'vitest';
import { useModelAndServer } from './support/model-and-server.js';
import { forEachStore } from './support/stores.js';

forEachStore((kind) =>
  describe('export and import of sessions', () => {
    // Every answer differs, so versions of a reply can be told apart.
    const ctx = useModelAndServer({ model: { reply: (request, index) => `Reply ${index} to: ${request.messages.at(-1)!.content}` } });
    it(`runs on ${kind}`, () => expect(ctx.server.chatify.store.kind).toBe(kind));

    const path = (id: string, rest = '') => `/api/v1/chatbot/session/${id}${rest}`;
    const exportOf = async (id: string) => {
      const got = await ctx.server.get(path(id, '/export'));
      expect(got.status).toBe(200);
      return got;
    };
    const importAs = (file: unknown, userId: string) => ctx.server.post(`/api/v1/chatbot/sessions/import?user_id=${userId}`, file);
    const sessionsOf = async (userId: string) => (await ctx.server.get(`/api/v1/chatbot/sessions?user_id=${userId}`)).body.sessions as unknown[];

    /** Three exchanges, the second reply regenerated, the third question edited, then back on the first versions of both. */
    async function branchedSession(userId: string): Promise<string> {
      const id = await ctx.server.createSession(userId);
      for (const text of ['Tell me about windmills', 'And their sails?', 'Who built the first?']) await ctx.server.send(id, text);
      expect((await ctx.server.post(path(id, '/regenerate'), { message_id: '4' })).status).toBe(200);
      expect((await ctx.server.post(path(id, '/messages/5/select'))).status).toBe(200);
      expect((await ctx.server.post(path(id, '/messages/5/edit'), { message: 'Who built the oldest?' })).status).toBe(200);
      expect((await ctx.server.post(path(id, '/messages/5/select'))).status).toBe(200);
      expect((await ctx.server.request('PATCH', path(id), { title: 'Windmills, old and new' })).status).toBe(200);
      return id;
    }

    it('round-trips the tree exactly: same messages, parents, active path and title, under a new id for the importer', async () => {
      const id = await branchedSession('u_exporter');
      const exported = await exportOf(id);
      expect(exported.headers.get('content-type')).toContain('application/json');
      expect(exported.headers.get('content-disposition')).toMatch(/^attachment; filename="chatify-windmills-old-and-new-[0-9a-f]{8}\.json"$/);
      const file = exported.body;
      expect(file).toMatchObject({ chatify_export: 1, session_id: id, title: 'Windmills, old and new', active_message_id: '6', message_count: 3 });
      expect(file.messages).toHaveLength(9);

      const imported = await importAs(file, 'u_importer');
      expect(imported.status).toBe(201);
      const newId = imported.body.session_id as string;
      expect(newId).not.toBe(id);
      expect(imported.body).toMatchObject({ user_id: 'u_importer', status: 'active', title: 'Windmills, old and new', message_count: 3 });
      const original = await ctx.server.get(path(id));
      expect(imported.body.conversation_history.map((m: { content: string }) => m.content)).toEqual(
        original.body.conversation_history.map((m: { content: string }) => m.content),
      );

      const again = (await exportOf(newId)).body;
      const { session_id: _a, user_id: _b, created_at: _c, last_activity: _d, usage: _e, ...tree } = file;
      expect(again).toMatchObject({ ...tree, session_id: newId, user_id: 'u_importer' });
      expect(again.messages).toEqual(file.messages);

      // The imported session goes on like any other, from its active path.
      const sent = await ctx.server.send(newId, 'And today?');
      expect(sent.body.message_count).toBe(4);
      const context = ctx.model.requests.at(-1)!.messages.map((m) => m.content);
      expect(context).toContain('Who built the first?');
      expect(context).not.toContain('Who built the oldest?');
      // The exporter's session is untouched.
      expect((await exportOf(id)).body.messages).toEqual(file.messages);
    });

    it('exports the conversation shown as Markdown, with a download name', async () => {
      const id = await branchedSession('u_markdown');
      const got = await ctx.server.get(path(id, '/export?format=markdown'));
      expect(got.status).toBe(200);
      expect(got.headers.get('content-type')).toContain('text/markdown');
      expect(got.headers.get('content-disposition')).toMatch(/^attachment; filename="chatify-windmills-old-and-new-[0-9a-f]{8}\.md"$/);
      const text = got.body as string;
      expect(text.startsWith('# Windmills, old and new\n')).toBe(true);
      for (const said of ['Tell me about windmills', 'And their sails?', 'Who built the first?']) expect(text).toContain(`\n${said}\n`);
      expect(text).not.toContain('Who built the oldest?');
      expect(text.match(/\*\*You\*\*/g)).toHaveLength(3);
      expect(text.match(/\*\*Friendly Assistant\*\*/g)).toHaveLength(3);
    });

    it('refuses a malformed file whole (422 invalid_import), storing nothing', async () => {
      const at = '2026-01-01T00:00:00.000Z';
      const valid = {
        template_id: 'friendly-assistant',
        messages: [
          { id: 'a', parent_id: null, role: 'user', content: 'hello', timestamp: at },
          { id: 'b', parent_id: 'a', role: 'assistant', content: 'hi', timestamp: at },
        ],
      };
      const broken: [string, unknown][] = [
        ['parent later', { ...valid, messages: [valid.messages[1], valid.messages[0]] }],
        ['repeated id', { ...valid, messages: [valid.messages[0], { ...valid.messages[1], id: 'a' }] }],
        ['unknown active', { ...valid, active_message_id: 'zzz' }],
        ['no such personality', { ...valid, template_id: 'nobody-here' }],
        ['bad role', { ...valid, messages: [{ ...valid.messages[0], role: 'system' }] }],
        ['bad timestamp', { ...valid, messages: [{ ...valid.messages[0], timestamp: 'yesterday' }] }],
        ['no messages field', { template_id: 'friendly-assistant' }],
        ['invisible question', { ...valid, messages: [{ ...valid.messages[0], content: '\u200b\u200b' }] }],
        ['not an object', [1, 2, 3]],
      ];
      for (const [what, file] of broken) {
        const refused = await importAs(file, 'u_importer_refused');
        expect([what, refused.status, refused.body.error?.code]).toEqual([what, 422, 'invalid_import']);
        expect(refused.body.error.message).toMatch(/^This file cannot be imported: /);
      }
      expect(await sessionsOf('u_importer_refused')).toEqual([]);
      expect((await importAs(valid, 'u_importer_refused')).status).toBe(201);
      expect(await sessionsOf('u_importer_refused')).toHaveLength(1);
    });

    it('bounds a file by BODY_LIMIT_BYTES (413) and needs someone to own it', async () => {
      const huge = { template_id: 'friendly-assistant', messages: [{ id: 'a', parent_id: null, role: 'user', content: 'x'.repeat(300_000), timestamp: '2026-01-01T00:00:00Z' }] };
      const refused = await importAs(huge, 'u_importer_huge');
      expect([refused.status, refused.body.error?.code]).toEqual([413, 'payload_too_large']);
      const ownerless = await ctx.server.post('/api/v1/chatbot/sessions/import', { template_id: 'friendly-assistant', messages: [] });
      expect([ownerless.status, ownerless.body.error?.code]).toEqual([422, 'user_required']);
      expect(await sessionsOf('u_importer_huge')).toEqual([]);
    });

    it('answers 404 for a session that does not exist', async () => {
      const missing = await ctx.server.get(path('3f2b6c1e-8a4d-4c7e-9b1a-2d3e4f5a6b7c', '/export'));
      expect([missing.status, missing.body.error?.code]).toEqual([404, 'session_not_found']);
    });
  }),
);
