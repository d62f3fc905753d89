import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ChatError } from '../../chat/errors.js';
import type { Memory } from '../../chat/memory-store.js';
import type { MemoryService } from '../../chat/memory-service.js';
import type { PersonalityService } from '../../chat/personality-service.js';
import { isUuid } from '../../chat/session-rules.js';
import { userOf } from '../auth.js';
import { errors } from '../schemas/common.js';
import { CreateMemoryBody, DeletedReply, MemoryJson, MemoryList, MemoryParams, MemoryScopeQuery, UpdateMemoryBody } from '../schemas/memories.js';

export interface MemoryRoutesOptions {
  memories: MemoryService;
  personalities: PersonalityService;
}

const tags = ['memories'];

const memoryJson = (m: Memory) => ({
  id: m.id,
  user_id: m.userId,
  personality_id: m.personalityId,
  text: m.text,
  source_session_id: m.sourceSessionId,
  created_at: m.createdAt,
  updated_at: m.updatedAt,
});

const notFound = () => new ChatError('memory_not_found', 'There is no such memory.');

/** Whose memories: the signed-in user's (naming anyone else finds nothing: 404), or the named one's. */
function ownerOf(request: FastifyRequest, named: string | undefined): string {
  const signedIn = request.caller.userId;
  if (signedIn !== undefined && named !== undefined && named !== signedIn) throw notFound();
  return userOf(request, named);
}

/** What personalities remember about a user: the user sees, adds, changes and erases it. */
export const memoryRoutes: FastifyPluginAsyncTypebox<MemoryRoutesOptions> = async (app, { memories, personalities }) => {
  app.get('/memories', {
    schema: {
      tags,
      summary: "A user's memories; with personality_id, what that personality remembers (its own and every personality's)",
      querystring: MemoryScopeQuery,
      response: { 200: MemoryList, ...errors(401, 404, 422) },
    },
    handler: async (request) => {
      const userId = ownerOf(request, request.query.user_id);
      const list = await memories.list({ userId, personalityId: request.query.personality_id });
      return { success: true as const, memories: list.map(memoryJson) };
    },
  });

  app.post('/memories', {
    schema: {
      tags,
      summary: 'Add a memory by hand',
      body: CreateMemoryBody,
      response: { 201: MemoryJson, ...errors(401, 404, 413, 422) },
    },
    handler: async (request, reply) => {
      const userId = ownerOf(request, request.body.user_id);
      const personalityId = request.body.personality_id ?? null;
      if (personalityId !== null && !(await personalities.resolve(personalityId))) {
        throw new ChatError('personality_not_found', `There is no personality "${personalityId}".`);
      }
      const memory = await memories.create(userId, personalityId, request.body.text);
      reply.code(201);
      return memoryJson(memory);
    },
  });

  app.put('/memories/:id', {
    schema: {
      tags,
      summary: "Change a memory's text",
      params: MemoryParams,
      body: UpdateMemoryBody,
      response: { 200: MemoryJson, ...errors(401, 404, 413, 422) },
    },
    handler: async (request) => {
      if (!isUuid(request.params.id)) throw notFound();
      return memoryJson(await memories.update(request.params.id, request.body.text, request.caller));
    },
  });

  app.delete('/memories/:id', {
    schema: { tags, summary: 'Forget one memory', params: MemoryParams, response: { 200: DeletedReply, ...errors(401, 404) } },
    handler: async (request) => {
      if (!isUuid(request.params.id)) throw notFound();
      await memories.delete(request.params.id, request.caller);
      return { success: true as const, deleted: 1 };
    },
  });

  app.delete('/memories', {
    schema: {
      tags,
      summary: 'Forget everything: all of a user\'s memories, or all that one personality remembers',
      querystring: MemoryScopeQuery,
      response: { 200: DeletedReply, ...errors(401, 404, 422) },
    },
    handler: async (request) => {
      const userId = ownerOf(request, request.query.user_id);
      return { success: true as const, deleted: await memories.deleteAll({ userId, personalityId: request.query.personality_id }) };
    },
  });
};
