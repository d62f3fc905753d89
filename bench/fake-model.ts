/**
 * The fake OpenAI-compatible model in its own process, so its work does not share an event loop
 * with the server or the load. Controlled by the benchmark over IPC.
 */
import { FakeOpenAi } from '../test/support/fake-openai.js';

export type ModelCommand =
  | { type: 'configure'; latencyMs: number; tokenDelayMs: number; replyWords: number }
  | { type: 'timings' }
  | { type: 'housekeeping' }
  | { type: 'stop' };

const model = await FakeOpenAi.start({ recordTimings: true, recordRequests: false });
let reply = '';
process.send!({ type: 'ready', url: model.url });

process.on('message', (command: ModelCommand) => {
  switch (command.type) {
    case 'configure':
      model.latencyMs = command.latencyMs;
      model.tokenDelayMs = command.tokenDelayMs;
      reply = Array.from({ length: command.replyWords }, (_, i) => `word${i}`).join(' ');
      model.reply = () => reply;
      model.timings.length = 0;
      process.send!({ type: 'configured' });
      break;
    case 'housekeeping':
      process.send!({ type: 'housekeeping', counts: { titles: model.titleCount, summaries: model.summaries.count, memories: model.memories.count } });
      break;
    case 'timings':
      process.send!({ type: 'timings', timings: model.timings.splice(0) });
      break;
    case 'stop':
      void model.close().then(() => process.exit(0));
      break;
  }
});
