import Markdown from 'react-markdown';
import { remarkHtmlAsText } from '../html-as-text.js';

export interface ChatMessage {
  key: string;
  role: 'user' | 'assistant';
  content: string;
}

const remarkPlugins = [remarkHtmlAsText];

/**
 * One chat bubble. Replies are rendered as Markdown with HTML shown as text (never parsed, never run);
 * react-markdown also drops unsafe link protocols such as javascript:.
 */
export function MessageView({ message }: { message: ChatMessage }) {
  const who = message.role === 'user' ? 'You' : 'Assistant';
  return (
    <li className={`bubble ${message.role}`}>
      <span className="visually-hidden">{who}: </span>
      {message.role === 'assistant' ? (
        <div className="markdown">
          <Markdown remarkPlugins={remarkPlugins}>{message.content}</Markdown>
        </div>
      ) : (
        <p className="plain">{message.content}</p>
      )}
    </li>
  );
}
