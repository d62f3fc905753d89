import { useEffect, useState } from 'react';
import type { PersonalityJson } from '../../../src/client/chatify-client.js';
import { adminKeyStore, api, describeError } from '../api.js';
import { PersonalityForm } from './PersonalityForm.js';
import { RulesEditor } from './RulesEditor.js';

/** List, create, edit and delete personalities; edit the universal rules. */
export function PersonalitiesPage() {
  const [list, setList] = useState<PersonalityJson[]>([]);
  const [editing, setEditing] = useState<PersonalityJson | 'new' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [adminKey, setAdminKey] = useState(adminKeyStore.get);

  const load = () =>
    api
      .listPersonalities()
      .then(setList)
      .catch((e: unknown) => setError(describeError(e)));

  useEffect(() => {
    void load();
  }, []);

  const saved = (p: PersonalityJson) => {
    setEditing(null);
    setNotice(`Saved “${p.name}”.`);
    void load();
  };

  const remove = async (p: PersonalityJson) => {
    if (!window.confirm(`Delete “${p.name}”? Chats already started with it keep working.`)) return;
    setError(null);
    try {
      await api.deletePersonality(p.id);
      setNotice(`Deleted “${p.name}”.`);
      void load();
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <div className="personalities-page">
      <div className="page-header">
        <h1>Personalities</h1>
        <button type="button" onClick={() => setEditing('new')}>
          New personality
        </button>
      </div>
      <div className="card admin-key">
        <label htmlFor="admin-key">Admin key (if the server requires one for changes)</label>
        <input
          id="admin-key"
          type="password"
          autoComplete="off"
          value={adminKey}
          onChange={(e) => {
            setAdminKey(e.target.value);
            adminKeyStore.set(e.target.value);
          }}
        />
      </div>
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {error && (
        <p role="alert" className="alert">
          {error}
        </p>
      )}
      {editing === 'new' && <PersonalityForm onSaved={saved} onCancel={() => setEditing(null)} />}
      <ul className="personality-grid" aria-label="Personalities">
        {list.map((p) => (
          <li key={p.id} className="card">
            {editing !== 'new' && editing?.id === p.id ? (
              <PersonalityForm editing={p} onSaved={saved} onCancel={() => setEditing(null)} />
            ) : (
              <article aria-label={p.name}>
                <h3>{p.name}</h3>
                <p className="muted">
                  {p.category} · {p.model} · temperature {p.temperature} · {p.maxTokens} tokens
                  {p.isDefault ? ' · default (cannot be deleted)' : ''}
                </p>
                <p>{p.description}</p>
                <div className="actions">
                  <button type="button" className="secondary" onClick={() => setEditing(p)} aria-label={`Edit ${p.name}`}>
                    Edit
                  </button>
                  {!p.isDefault && (
                    <button type="button" className="danger" onClick={() => void remove(p)} aria-label={`Delete ${p.name}`}>
                      Delete
                    </button>
                  )}
                </div>
              </article>
            )}
          </li>
        ))}
      </ul>
      <RulesEditor />
    </div>
  );
}
