import { cert, applicationDefault, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { ConnectionStoreDelegate } from '../connection-store-delegate.js';
import { getDatabase, type Database, type Query, type Reference } from 'firebase-admin/database';
import { randomUUID } from 'node:crypto';
import type { Store } from '../../chat/store.js';
import { treeExchangeNumbers } from '../appended-messages.js';
import { pushKeyCursor } from '../session-cursors.js';
import type { NewMessage, Page, Personality, Session, SessionSummary, StoredMessage, UniversalRules } from '../../chat/types.js';
import { messageKey, TimedDatabase, userKey, validKey, type TransactionResult } from './firebase-access.js';
import { FirebaseConnections } from './firebase-connections.js';
import { FirebaseMemories } from './firebase-memories.js';
import { ExchangeAppends } from './exchange-appends.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import { FirebaseSessionTitles } from './session-titles.js';
import { SESSION_FIELDS, toMessageNode, toSession, withoutOrder, type MessageNode, type SessionNode, type TreeStateNode } from './session-nodes.js';
import { parentKey, SessionTree } from './session-tree.js';
import { TreeStates } from './tree-state.js';

export interface FirebaseOptions {
  /** e.g. https://my-project-default-rtdb.firebaseio.com */
  databaseUrl: string;
  /** A service account; without one, Google's application default credentials are used. */
  serviceAccount?: { projectId: string; clientEmail: string; privateKey: string } | undefined;
  /** Longest wait for the database before answering 503, in ms. */
  timeoutMs: number;
}

/**
 * Firebase Realtime Database, laid out as the seed shows: templates/{id} and userSessions/{id} with
 * the seed's fields, and each message appended as one numbered child of
 * userSessions/{id}/conversation_history (never a rewrite of the session). Small nodes of our
 * own: userSessionIndex/{user}/{pushKey} lists a user's sessions newest first without downloading
 * histories, counters/templates keeps the order personalities were added in, and
 * idempotencyKeys/{session}/{key} reserves each idempotency key once (see idempotency-keys.ts).
 * User-to-user chat has its own nodes, described in firebase-connections.ts.
 */
export class FirebaseStore extends ConnectionStoreDelegate implements Store {
  readonly kind = 'firebase';
  readonly #timed: TimedDatabase;
  protected readonly connections: FirebaseConnections;
  readonly memories: FirebaseMemories;
  readonly #keys: IdempotencyKeys;
  readonly #titles: FirebaseSessionTitles;
  readonly #states: TreeStates;
  readonly #tree: SessionTree;
  readonly #appends: ExchangeAppends;

  private constructor(
    private readonly app: App,
    private readonly db: Database,
    timeoutMs: number,
  ) {
    super();
    this.#timed = new TimedDatabase(db, timeoutMs);
    this.connections = new FirebaseConnections(this.#timed);
    this.memories = new FirebaseMemories(this.#timed);
    this.#keys = new IdempotencyKeys(this.#timed);
    this.#titles = new FirebaseSessionTitles(this.#timed, db, (id) => this.getSession(id));
    this.#states = new TreeStates(this.#timed);
    this.#tree = new SessionTree(this.#timed, this.#states);
    this.#appends = new ExchangeAppends(this.#timed, this.#states, this.#tree, this.#keys);
  }

  static open(options: FirebaseOptions): FirebaseStore {
    const credential = options.serviceAccount ? cert(options.serviceAccount) : process.env['FIREBASE_DATABASE_EMULATOR_HOST'] ? undefined : applicationDefault();
    const app = initializeApp({ databaseURL: options.databaseUrl, ...(credential ? { credential } : {}) }, `chatify-${randomUUID()}`);
    return new FirebaseStore(app, getDatabase(app), options.timeoutMs);
  }

  async ping(): Promise<void> {
    await this.#read(this.db.ref('counters/templates'));
  }

  async close(): Promise<void> {
    await deleteApp(this.app);
  }

  createSession(s: Session): Promise<void> {
    return this.importSession(s, []);
  }

  /** The session node, its tree state, messages and children index, and its index entry: one multi-path update. */
  async importSession(s: Session, messages: readonly StoredMessage[]): Promise<void> {
    const node: SessionNode = {
      user_id: s.userId,
      template_id: s.templateId,
      system_prompt: s.systemPrompt,
      status: s.status,
      created_at: s.createdAt,
      last_activity: s.lastActivity,
      message_count: s.messageCount,
      ...(s.endedAt ? { ended_at: s.endedAt } : {}),
      ...(s.title !== null ? { title: s.title } : {}),
    };
    const tree: TreeStateNode = {
      last_seq: messages.at(-1)?.seq ?? 0,
      message_count: s.messageCount,
      ...(s.activeSeq !== null ? { active_seq: s.activeSeq } : {}),
    };
    const exchanges = treeExchangeNumbers(messages);
    const history: Record<string, MessageNode> = {};
    const children: Record<string, Record<string, true>> = {};
    messages.forEach((m, i) => {
      history[messageKey(m.seq)] = toMessageNode(m, exchanges[i]!, 1);
      (children[parentKey(m.parentSeq)] ??= {})[messageKey(m.seq)] = true;
    });
    const indexKey = this.db.ref().push().key!;
    await this.#write(
      this.db.ref().update({
        [`userSessions/${s.id}`]: { ...node, tree, conversation_history: history, children },
        [`userSessionIndex/${userKey(s.userId)}/${indexKey}`]: s.id,
      }),
    );
  }

  async getSession(id: string): Promise<Session | null> {
    if (!validKey(id)) return null;
    // Field by field: reading the session node would download its whole history.
    const ref = this.db.ref(`userSessions/${id}`);
    const values = await Promise.all([...SESSION_FIELDS, 'tree'].map((field) => this.#read(ref.child(field))));
    const node = Object.fromEntries(SESSION_FIELDS.map((field, i) => [field, values[i]])) as unknown as SessionNode;
    if (node.user_id == null) return null;
    // A session stored before the tree has no state node: its line implies one.
    const tree = (values[SESSION_FIELDS.length] as TreeStateNode | null) ?? (await this.#states.read(id));
    return toSession(id, node, tree);
  }

  async listSessions(userId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    let query = this.db.ref(`userSessionIndex/${userKey(userId)}`).orderByKey();
    if (page.cursor !== undefined) query = query.endAt(pushKeyCursor(page.cursor));
    const index = ((await this.#read(query.limitToLast(page.limit + 2))) ?? {}) as Record<string, string>;
    const keys = Object.keys(index)
      .filter((key) => key !== page.cursor)
      .sort()
      .reverse();
    const hasMore = keys.length > page.limit;
    const pageKeys = keys.slice(0, page.limit);
    const sessions = await Promise.all(pageKeys.map((key) => this.getSession(index[key]!)));
    return {
      items: sessions.filter((s): s is Session => s !== null),
      nextCursor: hasMore ? pageKeys.at(-1)! : null,
    };
  }

  setTitle(id: string, title: string, onlyIfUnset: boolean): Promise<boolean> {
    return this.#titles.set(id, title, onlyIfUnset);
  }

  /** Titles only: see session-titles.ts. */
  searchSessions(userId: string, words: readonly string[], page: { limit: number; cursor?: string | undefined }): Promise<Page<Session>> {
    return this.#titles.search(userId, words, page);
  }

  async setSummary(id: string, summary: SessionSummary): Promise<boolean> {
    if (!validKey(id) || (await this.#read(this.db.ref(`userSessions/${id}/user_id`))) == null) return false;
    await this.#write(this.db.ref(`userSessions/${id}`).update({ summary: summary.text, summary_seq: summary.throughSeq }));
    return true;
  }

  async endSession(id: string, endedAt: string): Promise<boolean> {
    if (!validKey(id) || (await this.#read(this.db.ref(`userSessions/${id}/user_id`))) == null) return false;
    const result = await this.#transact(this.db.ref(`userSessions/${id}/status`), (status: string | null) =>
      status === 'active' || status === null ? 'ended' : undefined,
    );
    if (!result.committed) return false;
    await this.#write(this.db.ref(`userSessions/${id}`).update({ ended_at: endedAt, last_activity: endedAt }));
    return true;
  }

  appendExchange(sessionId: string, messages: readonly NewMessage[], lastActivity: string, expectedLeaf?: number | null, parentSeq?: number | null) {
    return this.#appends.append(sessionId, messages, lastActivity, expectedLeaf, parentSeq);
  }

  findExchange(sessionId: string, idempotencyKey: string) {
    return this.#appends.find(sessionId, idempotencyKey);
  }

  async userUsage(userId: string) {
    const index = ((await this.#read(this.db.ref(`userSessionIndex/${userKey(userId)}`))) ?? {}) as Record<string, string>;
    const sessions = await Promise.all(Object.values(index).map((id) => this.getSession(id)));
    const usage = { sessions: 0, promptTokens: 0, completionTokens: 0, memoryTokens: 0 };
    for (const session of sessions) {
      if (!session) continue;
      usage.sessions += 1;
      usage.promptTokens += session.usage.promptTokens;
      usage.completionTokens += session.usage.completionTokens;
      usage.memoryTokens += session.memoryTokens;
    }
    return usage;
  }

  async addMemoryTokens(id: string, tokens: number): Promise<void> {
    if (!validKey(id) || (await this.#read(this.db.ref(`userSessions/${id}/user_id`))) == null) return;
    await this.#transact(this.db.ref(`userSessions/${id}/memory_tokens`), (n: number | null) => (n ?? 0) + tokens);
  }

  async readMessages(
    sessionId: string,
    page: { limit: number; beforeSeq?: number | undefined; leafSeq?: number | undefined },
  ): Promise<StoredMessage[]> {
    if (!validKey(sessionId) || page.limit < 1) return [];
    const leaf = page.leafSeq ?? (await this.#states.read(sessionId)).active_seq;
    if (leaf === undefined) return [];
    return this.#tree.path(sessionId, leaf, page.limit, page.beforeSeq);
  }

  async childrenOf(sessionId: string, parentSeqs: readonly (number | null)[]): Promise<Map<number | null, number[]>> {
    if (!validKey(sessionId)) return new Map(parentSeqs.map((p) => [p, []]));
    return this.#tree.childrenOf(sessionId, parentSeqs, (await this.#states.read(sessionId)).legacy_seq);
  }

  async selectMessage(sessionId: string, seq: number): Promise<Session | null> {
    return (await this.#appends.select(sessionId, seq)) ? this.getSession(sessionId) : null;
  }

  async readTree(sessionId: string, page: { limit: number; afterSeq?: number | undefined }): Promise<StoredMessage[]> {
    if (!validKey(sessionId) || page.limit < 1) return [];
    return this.#tree.page(sessionId, page.limit, page.afterSeq ?? 0);
  }

  async listPersonalities(): Promise<Personality[]> {
    const all = ((await this.#read(this.db.ref('templates'))) ?? {}) as Record<string, Personality & { _order?: number }>;
    return Object.values(all)
      .sort((a, b) => (a._order ?? 0) - (b._order ?? 0))
      .map(withoutOrder);
  }

  async getPersonality(id: string): Promise<Personality | null> {
    if (!validKey(id)) return null;
    const found = (await this.#read(this.db.ref(`templates/${id}`))) as (Personality & { _order?: number }) | null;
    return found ? withoutOrder(found) : null;
  }

  async insertPersonality(p: Personality): Promise<boolean> {
    const order = await this.#transact(this.db.ref('counters/templates'), (n: number | null) => (n ?? 0) + 1);
    const result = await this.#transact(this.db.ref(`templates/${p.id}`), (current: unknown) =>
      current === null ? { ...p, _order: order.snapshot.val() as number } : undefined,
    );
    return result.committed;
  }

  async replacePersonality(p: Personality): Promise<boolean> {
    const ref = this.db.ref(`templates/${p.id}`);
    const order = (await this.#read(ref.child('_order'))) as number | null;
    if (order === null && (await this.#read(ref.child('id'))) === null) return false;
    await this.#write(ref.set({ ...p, ...(order !== null ? { _order: order } : {}) }));
    return true;
  }

  async deletePersonality(id: string): Promise<boolean> {
    const ref = this.db.ref(`templates/${id}`);
    if ((await this.#read(ref.child('id'))) === null) return false;
    await this.#write(ref.remove());
    return true;
  }

  async incrementPersonalityUsage(id: string): Promise<void> {
    await this.#transact(this.db.ref(`templates/${id}/usageCount`), (n: number | null) => (n ?? 0) + 1);
  }

  async getUniversalRules(): Promise<UniversalRules | null> {
    return (await this.#read(this.db.ref('settings/universal_rules'))) as UniversalRules | null;
  }

  async putUniversalRules(rules: UniversalRules): Promise<void> {
    await this.#write(this.db.ref('settings/universal_rules').set(rules));
  }


  #read(query: Query): Promise<unknown> {
    return this.#timed.read(query);
  }

  #transact<T>(ref: Reference, update: (current: T) => unknown): Promise<TransactionResult> {
    return this.#timed.transaction(ref, update);
  }

  #write<T>(operation: Promise<T>): Promise<T> {
    return this.#timed.within(operation);
  }
}
