import type { ExchangeTimings } from '../chat/session-service.js';

/**
 * The Server-Timing header of a message send (shown by browsers' developer tools, read by the
 * benchmark): the exchange's stages and the whole request in the server, in milliseconds.
 */
export function serverTimingOf(timings: ExchangeTimings, totalMs: number): string {
  const entry = (name: string, ms: number) => `${name};dur=${ms.toFixed(2)}`;
  return [
    entry('prepare', timings.prepareMs),
    entry('model', timings.modelMs),
    entry('store', timings.storeMs),
    entry('total', totalMs),
  ].join(', ');
}
