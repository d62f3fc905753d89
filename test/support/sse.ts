export interface ReceivedEvent {
  event: string;
  data: any;
  /** Date.now() when the event's bytes arrived. */
  at: number;
}

/**
 * Reads a Server-Sent Events response as it arrives. `onEvent` may return 'stop' to disconnect
 * (abort the request) right there.
 */
export async function readEvents(
  response: Response,
  onEvent: (event: ReceivedEvent) => 'stop' | void = () => undefined,
  abort?: AbortController,
): Promise<ReceivedEvent[]> {
  const events: ReceivedEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
        const received = { event, data: JSON.parse(data), at: Date.now() };
        events.push(received);
        if (onEvent(received) === 'stop') {
          abort?.abort();
          return events;
        }
      }
    }
  } catch (error) {
    if (!abort?.signal.aborted) throw error;
  }
  return events;
}
