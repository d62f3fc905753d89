import { useEffect, useState } from 'react';
import { userStore } from './api.js';
import { ChatPage } from './components/ChatPage.js';
import { PeoplePage } from './components/PeoplePage.js';
import { PersonalitiesPage } from './components/PersonalitiesPage.js';
import { UserGate } from './components/UserGate.js';

type Page = 'chat' | 'people' | 'personalities';

const pageFromHash = (): Page =>
  location.hash === '#/personalities' ? 'personalities' : location.hash === '#/people' ? 'people' : 'chat';

export function App() {
  const [userId, setUserId] = useState(userStore.get);
  const [page, setPage] = useState<Page>(pageFromHash);

  useEffect(() => {
    const onHash = () => setPage(pageFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  if (!userId) {
    return (
      <UserGate
        onSignIn={(id, token) => {
          userStore.set(id, token);
          setUserId(id);
        }}
      />
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Chatify</span>
        <nav aria-label="Main">
          <a href="#/" aria-current={page === 'chat' ? 'page' : undefined}>
            Chat
          </a>
          <a href="#/people" aria-current={page === 'people' ? 'page' : undefined}>
            People
          </a>
          <a href="#/personalities" aria-current={page === 'personalities' ? 'page' : undefined}>
            Personalities
          </a>
        </nav>
        <span className="user">
          <span title="Your user id">{userId}</span>
          <button
            type="button"
            className="link"
            onClick={() => {
              userStore.clear();
              setUserId(null);
            }}
          >
            Switch user
          </button>
        </span>
      </header>
      <main>
        {page === 'chat' ? (
          <ChatPage userId={userId} />
        ) : page === 'people' ? (
          <PeoplePage key={userId} userId={userId} />
        ) : (
          <PersonalitiesPage />
        )}
      </main>
    </div>
  );
}
