import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Row {
  metric: string;
  result: string;
  target: string;
  /** Undefined when there is no target to meet. */
  met?: boolean;
}

export const ms = (value: number) => `${value.toFixed(2)} ms`;

export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export function table(rows: readonly Row[]): string {
  const lines = ['| metric | result | target | met |', '| --- | --- | --- | --- |'];
  for (const row of rows) {
    const met = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
    lines.push(`| ${row.metric} | ${row.result} | ${row.target} | ${met} |`);
  }
  return lines.join('\n');
}

/** Appends one run to BENCHMARKS.md, creating it with its heading if needed. */
export function record(file: string, heading: string, command: string, rows: readonly Row[], notes: string[]): void {
  if (!existsSync(file)) {
    writeFileSync(file, '# Benchmarks\n\nEach run is appended by `npm run bench` (see README, "Benchmarks").\n');
  }
  const body = [
    '',
    `## ${heading}`,
    '',
    `Machine: ${machine()}`,
    '',
    `Command: \`${command}\``,
    '',
    table(rows),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  appendFileSync(file, body);
}
