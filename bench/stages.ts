/**
 * Where the time a server added to each plain reply went, from the server's Server-Timing header,
 * the fake model's own timing and the client's: a note for the benchmark's overhead row.
 */
import type { ModelTiming } from '../test/support/fake-openai.js';
import type { Sample } from './load.js';
import { ms, percentile } from './report.js';

const STAGES = {
  server: 'in the server before and around the exchange (HTTP, hooks, queueing, context)',
  model: 'model call beyond the model’s own time (SDK, model thread, loopback)',
  store: 'durable store (group commit, fsync)',
  outside: 'outside the server (load generator, kernel, loopback)',
} as const;
type Stage = keyof typeof STAGES;

export function stageBreakdown(samples: Sample[], timings: Map<string, ModelTiming>): string | undefined {
  const rows: { added: number; parts: Record<Stage, number> }[] = [];
  for (const sample of samples) {
    const model = timings.get(sample.key);
    const server = sample.server;
    if (!model || server?.['total'] === undefined || server['model'] === undefined || server['store'] === undefined) continue;
    rows.push({
      added: sample.totalMs - model.totalMs,
      parts: {
        server: server['total'] - server['model'] - server['store'],
        model: server['model'] - model.totalMs,
        store: server['store'],
        outside: sample.totalMs - server['total'],
      },
    });
  }
  if (rows.length === 0) return undefined;
  const stages = Object.keys(STAGES) as Stage[];
  const each = stages.map((stage) => {
    const values = rows.map((r) => r.parts[stage]);
    return `${STAGES[stage]} p50 ${ms(percentile(values, 50))}, p99 ${ms(percentile(values, 99))}`;
  });
  // The slowest 1%: what the p99 is made of.
  const slowest = rows.sort((a, b) => b.added - a.added).slice(0, Math.max(1, Math.ceil(rows.length / 100)));
  const mean = (stage: Stage) => slowest.reduce((sum, r) => sum + r.parts[stage], 0) / slowest.length;
  const shares = stages.map((stage) => `${stage} ${ms(mean(stage))}`).join(', ');
  return `where the added time went: ${each.join('; ')}. The slowest 1% on average: ${shares}`;
}
