import { useEffect, useState, type FormEvent } from 'react';
import type { UniversalRulesJson } from '../../../src/client/chatify-client.js';
import { api, describeError } from '../api.js';

/** The rules placed before every personality's prompt. */
export function RulesEditor() {
  const [rules, setRules] = useState<UniversalRulesJson | null>(null);
  const [text, setText] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [message, setMessage] = useState<{ kind: 'status' | 'alert'; text: string } | null>(null);

  useEffect(() => {
    api
      .getUniversalRules()
      .then((r) => {
        setRules(r);
        setText(r.rules);
        setEnabled(r.enabled);
      })
      .catch((e: unknown) => setMessage({ kind: 'alert', text: describeError(e) }));
  }, []);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const saved = await api.updateUniversalRules({ rules: text, enabled });
      setRules(saved);
      setMessage({ kind: 'status', text: `Rules saved (version ${saved.version}).` });
    } catch (e) {
      setMessage({ kind: 'alert', text: describeError(e) });
    }
  };

  return (
    <form className="card rules" onSubmit={save} aria-labelledby="rules-heading">
      <h2 id="rules-heading">Universal rules</h2>
      <p className="muted">
        Placed before every personality’s prompt, followed by a blank line.{rules ? ` Version ${rules.version}.` : ''}
      </p>
      <label htmlFor="universal-rules">Universal rules</label>
      <textarea id="universal-rules" rows={4} value={text} onChange={(e) => setText(e.target.value)} />
      <label className="checkbox">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        Rules enabled
      </label>
      {message && (
        <p role={message.kind} className={message.kind === 'alert' ? 'field-error' : 'notice'}>
          {message.text}
        </p>
      )}
      <div className="actions">
        <button type="submit">Save rules</button>
      </div>
    </form>
  );
}
