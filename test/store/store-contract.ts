import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/chat/store.js';
import type { NewMessage, Personality, Session } from '../../src/chat/types.js';

/** How a contract run gets at one kind of store. */
export interface StoreFactory {
  /** Opens the store, on the same data each time within one run. */
  open(): Promise<Store>;
  /** Removes what the run created. */
  dispose?(): Promise<void>;
}

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

export function newSession(userId = 'user_contract', overrides: Partial<Session> = {}): Session {
  return {
    id: randomUUID(),
    userId,
    templateId: 'friendly-assistant',
    systemPrompt: 'You are friendly.',
    status: 'active',
    createdAt: at(0),
    lastActivity: at(0),
    endedAt: null,
    messageCount: 0,
    activeSeq: null,
    usage: { promptTokens: 0, completionTokens: 0 },
    memoryTokens: 0,
    title: null,
    summary: null,
    ...overrides,
  };
}

const exchange = (text: string, second = 1, key: string | null = null): NewMessage[] => [
  { role: 'user', content: text, tokens: 3, createdAt: at(second), idempotencyKey: key, usage: null },
  {
    role: 'assistant',
    content: `Reply to: ${text}`,
    tokens: 5,
    createdAt: at(second + 1),
    idempotencyKey: null,
    usage: { promptTokens: 10, completionTokens: 4 },
  },
];

export function personality(id: string, overrides: Partial<Personality> = {}): Personality {
  return {
    id,
    name: id,
    title: id,
    description: `About ${id}`,
    category: 'general',
    personalityPrompt: `You are ${id}.`,
    welcomeMessage: 'Hi',
    model: 'gpt-4o-mini',
    temperature: 0.9,
    maxTokens: 50,
    presencePenalty: 0.6,
    frequencyPenalty: 0.6,
    tags: ['a', 'b'],
    isPublic: true,
    isDefault: false,
    memory: true,
    usageCount: 0,
    createdAt: at(0),
    updatedAt: at(0),
    ...overrides,
  };
}

/** The behaviour every Store must have, whatever keeps the data. */
export function storeContract(name: string, factory: StoreFactory): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await factory.open();
    });
    afterAll(async () => {
      await store?.close();
      await factory.dispose?.();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('creates and reads sessions', async () => {
      const session = newSession();
      await store.createSession(session);
      expect(await store.getSession(session.id)).toEqual(session);
      expect(await store.getSession(randomUUID())).toBeNull();
      expect(await store.getSession('not-a-uuid')).toBeNull();
    });

    it("lists a user's sessions newest first, page by page, and only theirs", async () => {
      const user = `lister_${randomUUID().slice(0, 8)}`;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const session = newSession(user);
        await store.createSession(session);
        ids.push(session.id);
      }
      await store.createSession(newSession(`${user}_other`));
      const first = await store.listSessions(user, { limit: 2 });
      expect(first.items.map((s) => s.id)).toEqual([ids[4], ids[3]]);
      const second = await store.listSessions(user, { limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((s) => s.id)).toEqual([ids[2], ids[1]]);
      const third = await store.listSessions(user, { limit: 2, cursor: second.nextCursor! });
      expect(third.items.map((s) => s.id)).toEqual([ids[0]]);
      expect(third.nextCursor).toBeNull();
      expect((await store.listSessions('nobody_at_all', { limit: 10 })).items).toEqual([]);
    });

    it('sets a title; one written only while unset never overwrites a rename, even racing it', async () => {
      const renamedFirst = newSession();
      await store.createSession(renamedFirst);
      expect(await store.setTitle(renamedFirst.id, 'Renamed by me', false)).toBe(true);
      expect(await store.setTitle(renamedFirst.id, 'Generated', true)).toBe(false);
      expect((await store.getSession(renamedFirst.id))!.title).toBe('Renamed by me');

      const generatedFirst = newSession();
      await store.createSession(generatedFirst);
      expect((await store.getSession(generatedFirst.id))!.title).toBeNull();
      expect(await store.setTitle(generatedFirst.id, 'Generated', true)).toBe(true);
      expect(await store.setTitle(generatedFirst.id, 'Generated again', true)).toBe(false);
      expect(await store.setTitle(generatedFirst.id, 'Renamed later', false)).toBe(true);
      expect((await store.getSession(generatedFirst.id))!.title).toBe('Renamed later');
      expect(await store.setTitle(randomUUID(), 'Nobody', false)).toBe(false);
      expect(await store.getSession(randomUUID())).toBeNull();

      for (let i = 0; i < 5; i++) {
        const raced = newSession();
        await store.createSession(raced);
        await Promise.all([store.setTitle(raced.id, 'Generated', true), store.setTitle(raced.id, `Mine ${i}`, false)]);
        expect((await store.getSession(raced.id))!.title).toBe(`Mine ${i}`);
      }
    });

    it("searches a user's sessions by words (messages too, except on Firebase), paged, never another user's", async () => {
      const user = `searcher_${randomUUID().slice(0, 8)}`;
      const started = async (owner: string, texts: string[], title?: string) => {
        const session = newSession(owner);
        await store.createSession(session);
        for (const [i, text] of texts.entries()) await store.appendExchange(session.id, exchange(text, 2 * i + 1), at(2 * i + 2));
        if (title !== undefined) await store.setTitle(session.id, title, false);
        return session.id;
      };
      const inMessages = await started(user, ['Planning a trip', 'Tell me about the LIGHTHOUSE keeper', 'What next?']);
      const titled = await started(user, ['Some photos'], 'Lighthouse photos');
      await started(user, ['Nothing relevant here'], 'Harbour walk');
      const titledToo = await started(user, [], 'The lighthouse at dusk');
      const others = await started(`${user}_other`, ['the lighthouse keeper'], 'Lighthouse');

      const messagesSearched = store.kind !== 'firebase';
      const expected = messagesSearched ? [titledToo, titled, inMessages] : [titledToo, titled];
      const all = await store.searchSessions(user, ['lighthouse'], { limit: 10 });
      expect(all.items.map((s) => s.id)).toEqual(expected);
      expect(all.nextCursor).toBeNull();
      expect(all.items.every((s) => s.userId === user)).toBe(true);

      const first = await store.searchSessions(user, ['lighthouse'], { limit: 2 });
      expect(first.items.map((s) => s.id)).toEqual([titledToo, titled]);
      if (messagesSearched) {
        const second = await store.searchSessions(user, ['lighthouse'], { limit: 2, cursor: first.nextCursor! });
        expect(second.items.map((s) => s.id)).toEqual([inMessages]);
        expect(second.nextCursor).toBeNull();
      } else expect(first.nextCursor).toBeNull();

      // Every word, each as the start of a word, in any case.
      expect((await store.searchSessions(user, ['lighth', 'keep'], { limit: 10 })).items.map((s) => s.id)).toEqual(
        messagesSearched ? [inMessages] : [],
      );
      expect((await store.searchSessions(user, ['lighthouse', 'dusk'], { limit: 10 })).items.map((s) => s.id)).toEqual([titledToo]);
      expect((await store.searchSessions(user, ['ighthouse'], { limit: 10 })).items).toEqual([]);
      expect((await store.searchSessions(`${user}_other`, ['lighthouse'], { limit: 10 })).items.map((s) => s.id)).toEqual([others]);
      expect((await store.searchSessions(`${user}_nobody`, ['lighthouse'], { limit: 10 })).items).toEqual([]);
    });

    it('ends a session once', async () => {
      const session = newSession();
      await store.createSession(session);
      expect(await store.endSession(session.id, at(30))).toBe(true);
      expect(await store.endSession(session.id, at(31))).toBe(false);
      expect(await store.endSession(randomUUID(), at(31))).toBe(false);
      expect(await store.getSession(session.id)).toMatchObject({ status: 'ended', endedAt: at(30), lastActivity: at(30) });
    });

    it('appends exchanges with increasing sequence numbers and counts them', async () => {
      const session = newSession();
      await store.createSession(session);
      const first = await store.appendExchange(session.id, exchange('one', 1), at(2));
      expect(first).toEqual({
        messageCount: 1,
        messages: exchange('one', 1).map((m, i) => ({ ...m, seq: i + 1, parentSeq: i === 0 ? null : i })),
      });
      expect(await store.getSession(session.id)).toMatchObject({ usage: { promptTokens: 10, completionTokens: 4 } });
      const second = await store.appendExchange(session.id, exchange('two', 3), at(4));
      expect(second!.messageCount).toBe(2);
      expect(second!.messages.map((m) => m.seq)).toEqual([3, 4]);
      expect(await store.getSession(session.id)).toMatchObject({ messageCount: 2, lastActivity: at(4) });
    });

    it('refuses to append to ended or unknown sessions, writing nothing', async () => {
      const session = newSession();
      await store.createSession(session);
      await store.endSession(session.id, at(10));
      expect(await store.appendExchange(session.id, exchange('late'), at(11))).toBeNull();
      expect(await store.appendExchange(randomUUID(), exchange('nowhere'), at(11))).toBeNull();
      expect(await store.readMessages(session.id, { limit: 10 })).toEqual([]);
      expect((await store.getSession(session.id))!.messageCount).toBe(0);
    });

    it('finds an exchange by its idempotency key, refuses the key twice, and sums token usage', async () => {
      const session = newSession(`usage_${randomUUID().slice(0, 8)}`);
      await store.createSession(session);
      await store.appendExchange(session.id, exchange('first', 1, 'key-1'), at(2));
      await store.appendExchange(session.id, exchange('second', 3, 'key-2'), at(4));
      const found = await store.findExchange(session.id, 'key-1');
      expect(found?.messageCount).toBe(1);
      expect(found?.messages.map((m) => [m.seq, m.content])).toEqual([
        [1, 'first'],
        [2, 'Reply to: first'],
      ]);
      expect((await store.findExchange(session.id, 'key-2'))?.messageCount).toBe(2);
      expect(await store.findExchange(session.id, 'key-3')).toBeNull();
      await expect(store.appendExchange(session.id, exchange('again', 5, 'key-1'), at(6))).rejects.toThrow();
      expect((await store.getSession(session.id))!.messageCount).toBe(2);

      expect((await store.getSession(session.id))!.usage).toEqual({ promptTokens: 20, completionTokens: 8 });
      const other = newSession(session.userId);
      await store.createSession(other);
      await store.appendExchange(other.id, exchange('more'), at(7));
      // Housekeeping's tokens are kept apart, per session.
      await store.addMemoryTokens(other.id, 7);
      await store.addMemoryTokens(other.id, 5);
      expect((await store.getSession(other.id))?.memoryTokens).toBe(12);
      expect(await store.userUsage(session.userId)).toEqual({ sessions: 2, promptTokens: 30, completionTokens: 12, memoryTokens: 12 });
      expect(await store.userUsage('nobody_here')).toEqual({ sessions: 0, promptTokens: 0, completionTokens: 0, memoryTokens: 0 });
    });

    it('refuses an append built on a stale active leaf (fencing), writing nothing', async () => {
      const session = newSession();
      await store.createSession(session);
      expect((await store.getSession(session.id))?.activeSeq).toBeNull();
      expect(await store.appendExchange(session.id, exchange('first'), at(2), null)).toMatchObject({ messageCount: 1 });
      expect((await store.getSession(session.id))?.activeSeq).toBe(2);
      expect(await store.appendExchange(session.id, exchange('stale'), at(3), null)).toBeNull();
      expect(await store.appendExchange(session.id, exchange('current'), at(4), 2)).toMatchObject({ messageCount: 2 });
      const stored = await store.readMessages(session.id, { limit: 10 });
      expect(stored.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['first', 'current']);
      expect((await store.getSession(session.id))?.activeSeq).toBe(4);
    });

    it('fences on the active leaf, not the count: after a select to a path as long, an append built before it is refused', async () => {
      const session = newSession();
      await store.createSession(session);
      await store.appendExchange(session.id, exchange('one'), at(2));
      // A second version of the first exchange: as many exchanges, another leaf.
      await store.appendExchange(session.id, exchange('one, again'), at(3), 2, null);
      expect(await store.getSession(session.id)).toMatchObject({ messageCount: 1, activeSeq: 4 });
      expect(await store.selectMessage(session.id, 1)).toMatchObject({ messageCount: 1, activeSeq: 2 });
      expect(await store.appendExchange(session.id, exchange('built on the other path'), at(4), 4)).toBeNull();
      expect(await store.appendExchange(session.id, exchange('two'), at(5), 2)).toMatchObject({ messageCount: 2 });
      expect((await store.readMessages(session.id, { limit: 10 })).map((m) => m.content)).toEqual(['one', 'Reply to: one', 'two', 'Reply to: two']);
    });

    it('gives an idempotency key back when its append is fenced, so a retry with it is stored', async () => {
      const session = newSession();
      await store.createSession(session);
      await store.appendExchange(session.id, exchange('elsewhere', 1), at(2), null);
      expect(await store.appendExchange(session.id, exchange('stale', 3, 'retry-me'), at(4), null)).toBeNull();
      expect(await store.findExchange(session.id, 'retry-me')).toBeNull();
      const retried = await store.appendExchange(session.id, exchange('stale', 5, 'retry-me'), at(6), 2);
      expect(retried?.messageCount).toBe(2);
      expect((await store.findExchange(session.id, 'retry-me'))?.messages.map((m) => [m.seq, m.content])).toEqual([
        [3, 'stale'],
        [4, 'Reply to: stale'],
      ]);
      await expect(store.appendExchange(session.id, exchange('stale', 7, 'retry-me'), at(8), 4)).rejects.toThrow();
    });

    it('pages messages: the newest first-page, older pages before a sequence number, oldest first', async () => {
      const session = newSession();
      await store.createSession(session);
      for (let i = 1; i <= 5; i++) await store.appendExchange(session.id, exchange(`m${i}`, i * 2), at(i * 2 + 1));
      const newest = await store.readMessages(session.id, { limit: 3 });
      expect(newest.map((m) => m.seq)).toEqual([8, 9, 10]);
      expect(newest.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant']);
      const older = await store.readMessages(session.id, { limit: 4, beforeSeq: 8 });
      expect(older.map((m) => m.seq)).toEqual([4, 5, 6, 7]);
      expect(older[0]).toEqual({
        seq: 4,
        parentSeq: 3,
        role: 'assistant',
        content: 'Reply to: m2',
        tokens: 5,
        createdAt: at(5),
        idempotencyKey: null,
        usage: { promptTokens: 10, completionTokens: 4 },
      });
      expect(await store.readMessages(session.id, { limit: 10, beforeSeq: 1 })).toEqual([]);
      expect(await store.readMessages(randomUUID(), { limit: 10 })).toEqual([]);
    });

    it('keeps every one of many concurrent appends to one session, none twice', async () => {
      const session = newSession();
      await store.createSession(session);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => store.appendExchange(session.id, exchange(`c${i}`), at(5))),
      );
      expect(results.map((r) => r!.messageCount).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      const stored = await store.readMessages(session.id, { limit: 100 });
      expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      expect(new Set(stored.filter((m) => m.role === 'user').map((m) => m.content)).size).toBe(30);
      for (let i = 0; i < 60; i += 2) expect(stored[i + 1]!.content).toBe(`Reply to: ${stored[i]!.content}`);
    });

    it('stores text exactly: unicode, quotes, newlines, SQL-looking and very long', async () => {
      const session = newSession();
      await store.createSession(session);
      const texts = ["Robert'); DROP TABLE sessions;--", 'naïve café 😀 日本語', 'line one\nline two\t"quoted"', 'x'.repeat(20_000)];
      for (const text of texts) await store.appendExchange(session.id, exchange(text), at(9));
      const stored = await store.readMessages(session.id, { limit: 100 });
      expect(stored.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(texts);
    });

    it('keeps personalities: insert once, list in order, replace, count uses, delete', async () => {
      const a = `contract-a-${randomUUID().slice(0, 6)}`;
      const b = `contract-b-${randomUUID().slice(0, 6)}`;
      expect(await store.insertPersonality(personality(a))).toBe(true);
      expect(await store.insertPersonality(personality(b))).toBe(true);
      expect(await store.insertPersonality(personality(a, { name: 'duplicate' }))).toBe(false);
      const ids = (await store.listPersonalities()).map((p) => p.id);
      expect(ids.indexOf(a)).toBeLessThan(ids.indexOf(b));
      expect(await store.getPersonality(a)).toEqual(personality(a));
      expect(await store.getPersonality('missing-one')).toBeNull();

      expect(await store.replacePersonality(personality(a, { description: 'changed', tags: [] }))).toBe(true);
      expect(await store.replacePersonality(personality('missing-one'))).toBe(false);
      expect(await store.getPersonality(a)).toMatchObject({ description: 'changed', tags: [] });

      await Promise.all(Array.from({ length: 20 }, () => store.incrementPersonalityUsage(a)));
      expect((await store.getPersonality(a))!.usageCount).toBe(20);

      expect(await store.deletePersonality(b)).toBe(true);
      expect(await store.deletePersonality(b)).toBe(false);
      expect(await store.getPersonality(b)).toBeNull();
    });

    it('keeps the universal rules', async () => {
      const rules = { rules: 'Be kind.\n\nAlways.', version: 7, enabled: false, updatedAt: at(40) };
      await store.putUniversalRules(rules);
      expect(await store.getUniversalRules()).toEqual(rules);
      await store.putUniversalRules({ ...rules, version: 8 });
      expect((await store.getUniversalRules())!.version).toBe(8);
    });

    it('keeps everything across close and reopen', async () => {
      const session = newSession();
      await store.createSession(session);
      await store.appendExchange(session.id, exchange('durable'), at(50));
      await store.close();
      store = await factory.open();
      expect(await store.getSession(session.id)).toMatchObject({ id: session.id, messageCount: 1 });
      expect((await store.readMessages(session.id, { limit: 10 })).map((m) => m.content)).toEqual([
        'durable',
        'Reply to: durable',
      ]);
    });
  });
}
