/**
 * A signal that aborts when any of `signals` does, undone by `dispose()`. Unlike AbortSignal.any
 * (whose signals Node 20 keeps until a full garbage collection, and never frees while one input
 * lives on, nodejs/node#55351), it costs one controller and a listener per input, gone on dispose.
 */
export function linkedSignal(...signals: AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  // The first input to abort gives its reason (a TimeoutError stays one).
  const abort = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  for (const input of signals) {
    if (input.aborted) {
      controller.abort(input.reason);
      break;
    }
    input.addEventListener('abort', abort, { once: true });
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const input of signals) input.removeEventListener('abort', abort);
    },
  };
}
