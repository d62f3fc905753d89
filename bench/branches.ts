/**
 * A session whose tree is wide: `count` versions of its last reply (regenerated one after another),
 * then the oldest version selected, so the conversation goes on along an older branch of a big tree.
 */
export async function growBranches(baseUrl: string, sessionId: string, count: number): Promise<void> {
  const session = `${baseUrl}/api/v1/chatbot/session/${sessionId}`;
  let first: string | undefined;
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${session}/regenerate`, { method: 'POST' });
    if (!res.ok) throw new Error(`regenerate: ${res.status} ${await res.text()}`);
    const { message_id } = (await res.json()) as { message_id: string };
    first ??= message_id;
  }
  const selected = await fetch(`${session}/messages/${first}/select`, { method: 'POST' });
  if (!selected.ok) throw new Error(`select: ${selected.status} ${await selected.text()}`);
}
