/** Server-Sent Events as the API sends them (`id:`, `event:` and `data:` lines, blank-line separated). */

/** One event; `id` is what to resume after (Last-Event-ID), when the server numbered it. */
export interface ServerEvent {
  event: string;
  data: unknown;
  id?: number | undefined;
}

/** Parses a Server-Sent Events body into {event, data, id} as the blocks arrive. */
export async function* readEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      let id: number | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        else if (line.startsWith('id:')) id = Number(line.slice(3).trim());
      }
      if (data.length) yield { event, data: JSON.parse(data.join('\n')) as unknown, ...(id !== undefined ? { id } : {}) };
    }
  }
}
