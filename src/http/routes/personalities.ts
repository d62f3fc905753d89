import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { PersonalityService } from '../../chat/personality-service.js';
import { errors } from '../schemas/common.js';
import {
  CreatePersonalityBody,

  PersonalityParams,
  UniversalRules,
  UpdatePersonalityBody,
  UpdateRulesBody,
} from '../schemas/personalities.js';

export interface PersonalityRoutesOptions {
  personalities: PersonalityService;
}

/** Personality templates and universal rules, shaped as the original front end expects (bare objects). */
export const personalityRoutes: FastifyPluginAsyncTypebox<PersonalityRoutesOptions> = async (app, { personalities }) => {
  const tags = ['personalities'];
  const PersonalityRef = Type.Ref('Personality');

  app.get('/personalities', {
    schema: { tags, summary: 'All personalities', response: { 200: Type.Array(PersonalityRef) } },
    handler: () => personalities.list(),
  });

  app.post('/personalities', {
    config: { admin: true },
    schema: {
      tags,
      summary: 'Create a personality; its id is made from the name',
      body: CreatePersonalityBody,
      response: { 201: PersonalityRef, ...errors(401, 403, 409, 413, 422) },
    },
    handler: async (request, reply) => reply.code(201).send(await personalities.create(request.body)),
  });

  app.get('/personalities/:id', {
    schema: { tags, summary: 'One personality', params: PersonalityParams, response: { 200: PersonalityRef, ...errors(404) } },
    handler: (request) => personalities.get(request.params.id),
  });

  app.put('/personalities/:id', {
    config: { admin: true },
    schema: {
      tags,
      summary: 'Change some fields of a personality',
      params: PersonalityParams,
      body: UpdatePersonalityBody,
      response: { 200: PersonalityRef, ...errors(401, 403, 404, 413, 422) },
    },
    handler: (request) => personalities.update(request.params.id, request.body),
  });

  app.delete('/personalities/:id', {
    config: { admin: true },
    schema: {
      tags,
      summary: 'Delete a personality (not a shipped one)',
      params: PersonalityParams,
      response: { 200: Type.Object({ success: Type.Literal(true), message: Type.String() }), ...errors(401, 403, 404, 409) },
    },
    handler: async (request) => {
      await personalities.remove(request.params.id);
      return { success: true as const, message: 'Personality deleted successfully' };
    },
  });

  app.get('/settings/universal-rules', {
    schema: { tags: ['settings'], summary: 'Rules placed before every personality prompt', response: { 200: UniversalRules } },
    handler: () => personalities.getRules(),
  });

  app.put('/settings/universal-rules', {
    config: { admin: true },
    schema: {
      tags: ['settings'],
      summary: 'Change the universal rules (the version goes up by one)',
      body: UpdateRulesBody,
      response: { 200: UniversalRules, ...errors(401, 403, 413, 422) },
    },
    handler: (request) => personalities.updateRules(request.body),
  });
};

