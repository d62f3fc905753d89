import type { SessionExport } from '../chat/session-transfer.js';

/** The conversation shown (the active path) as Markdown a person can read, keep or share. */
export function sessionMarkdown({ session, activePath }: SessionExport, personalityName: string): string {
  const lines = [
    `# ${oneLine(session.title ?? `Conversation with ${personalityName}`)}`,
    '',
    `*${oneLine(personalityName)} · started ${session.createdAt} · ${session.messageCount} exchange${session.messageCount === 1 ? '' : 's'}*`,
  ];
  for (const m of activePath) {
    lines.push('', `**${m.role === 'user' ? 'You' : oneLine(personalityName)}** (${m.createdAt})`, '', m.content);
  }
  return `${lines.join('\n')}\n`;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
