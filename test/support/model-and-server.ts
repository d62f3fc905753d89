import { afterAll, beforeAll } from 'vitest';
import { FakeOpenAi, type FakeOpenAiOptions } from './fake-openai.js';
import { ChatifyServer } from './chatify-server.js';

/**
 * A fake model and a server that talks to it, for the tests of the enclosing describe block:
 * started before them, closed after them. Reassign `server` to restart it; it is closed at the end.
 */
export function useModelAndServer(options: { model?: FakeOpenAiOptions; env?: Record<string, string> } = {}) {
  const context = {} as { model: FakeOpenAi; server: ChatifyServer };
  beforeAll(async () => {
    context.model = await FakeOpenAi.start(options.model);
    context.server = await ChatifyServer.start(ChatifyServer.modelEnv(context.model.url, options.env));
  });
  afterAll(async () => {
    await context.server?.close();
    await context.model?.close();
  });
  return context;
}
