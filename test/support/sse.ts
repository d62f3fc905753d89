import { readEventStream } from '../../src/client/chatify-client.js';

export interface ReceivedEvent {
  event: string;
  data: any;
  /** Date.now() when the event's bytes arrived. */
  at: number;
}

/**
 * Reads a Server-Sent Events response as it arrives, stamping each event. `onEvent` may return
 * 'stop' to disconnect (abort the request) right there.
 */
export async function readEvents(
  response: Response,
  onEvent: (event: ReceivedEvent) => 'stop' | void = () => undefined,
  abort?: AbortController,
): Promise<ReceivedEvent[]> {
  const events: ReceivedEvent[] = [];
  try {
    for await (const { event, data } of readEventStream(response.body!)) {
      const received = { event, data, at: Date.now() };
      events.push(received);
      if (onEvent(received) === 'stop') {
        abort?.abort();
        break;
      }
    }
  } catch (error) {
    if (!abort?.signal.aborted) throw error;
  }
  return events;
}
