import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const chatify = await buildApp(config);
  const { app } = chatify;

  if (config.llm.provider === 'offline') {
    app.log.warn(
      '*** OFFLINE MODE: no OPENAI_API_KEY is set, so replies come from the built-in offline responder, not a model. ' +
        'Set OPENAI_API_KEY (and OPENAI_BASE_URL for other OpenAI-compatible servers) for real replies. ***',
    );
    if (config.unusedBaseUrl) {
      app.log.warn(`OPENAI_BASE_URL is set but unused: set LLM_PROVIDER=openai to send replies to ${config.unusedBaseUrl}.`);
    }
  }

  if (config.auth.mode === 'none') {
    app.log.warn(
      'AUTH_MODE=none: anyone who can reach this server can read and end any chat. Fine on your own machine; ' +
        'set AUTH_MODE=jwt or apikey before exposing it.',
    );
  }

  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down');
    chatify.stopAccepting();
    await app.close();
  });

  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    { store: chatify.store.kind, provider: chatify.llm.provider, docs: '/docs' },
    'Chatify is ready',
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
