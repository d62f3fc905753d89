import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadConfig, redactStartupError } from './config.js';

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

  // SIGTERM: first /ready answers 503 so load balancers stop sending new work, then the listener
  // closes and the replies under way (streams included) finish, all within the shutdown bound.
  const { delayMs, timeoutMs } = config.shutdown;
  closeWithGrace({ delay: delayMs + timeoutMs }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down');
    chatify.stopAccepting();
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    await app.close();
  });

  await app.listen({ port: config.port, host: config.host });
  app.log.info(
    { store: chatify.store.kind, provider: chatify.llm.provider, docs: '/docs' },
    'Chatify is ready',
  );
}

main().catch((error: unknown) => {
  // A driver's message may quote a URL with its password, or the value it refused.
  console.error(redactStartupError(error instanceof Error ? error.message : String(error)));
  process.exit(1);
});
