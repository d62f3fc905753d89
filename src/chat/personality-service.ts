import { randomUUID } from 'node:crypto';
import { DEFAULT_MODEL_SETTINGS, SHIPPED_PERSONALITIES } from './default-personalities.js';
import { ChatError } from './errors.js';
import { hasVisibleCharacter } from './message-text.js';
import { composeSystemPrompt, slugify } from './prompt.js';
import { localChangeFeed, type ChangeFeed } from './change-feed.js';
import type { Store } from './store.js';
import type { TokenCounter } from './token-count.js';
import type { ModelSettings, Personality, PersonalityInput, Session, UniversalRules } from './types.js';

/** What a conversation needs from its personality at send time. */
export interface ResolvedPersonality {
  personality: Personality;
  systemPrompt: string;
  systemPromptTokens: number;
}

export type NewPersonality = Pick<PersonalityInput, 'name' | 'personalityPrompt'> & Partial<PersonalityInput>;
export type RulesUpdate = Partial<Pick<UniversalRules, 'rules' | 'enabled'>>;

interface Deps {
  store: Store;
  countTokens: TokenCounter;
  now: () => Date;
  defaultPersonalityId: string;
  /** Other instances' changes arrive here; ours are announced on it. */
  changes?: ChangeFeed;
}

/**
 * Personality templates and the universal rules that precede them. Keeps the composed system prompt
 * of each personality in memory (counted once), dropped whenever a personality or the rules change.
 */
export class PersonalityService {
  readonly #resolved = new Map<string, ResolvedPersonality>();
  #rules: UniversalRules | null = null;
  /**
   * Bumped whenever what is cached may be stale. A store read that began before a bump may have seen
   * the old value, so it is answered but not kept: otherwise it would overwrite the newer state.
   */
  #generation = 0;

  readonly #changes: ChangeFeed;

  constructor(private readonly deps: Deps) {
    this.#changes = deps.changes ?? localChangeFeed;
    this.#changes.onChange(() => this.#forget());
  }

  get defaultPersonalityId(): string {
    return this.deps.defaultPersonalityId;
  }

  /** Seeds the shipped personalities and empty rules into a store that lacks them. */
  async init(): Promise<void> {
    const now = this.#now();
    for (const shipped of SHIPPED_PERSONALITIES) {
      await this.deps.store.insertPersonality({
        ...DEFAULT_MODEL_SETTINGS,
        ...shipped,
        isDefault: true,
        memory: true,
        usageCount: 0,
        createdAt: now,
        updatedAt: now,
      });
    }
    if (!(await this.deps.store.getUniversalRules())) {
      await this.deps.store.putUniversalRules({ rules: '', version: 1, enabled: true, updatedAt: now });
    }
  }

  async list(): Promise<Personality[]> {
    return (await this.deps.store.listPersonalities()).map(withFieldDefaults);
  }

  async get(id: string): Promise<Personality> {
    const found = await this.deps.store.getPersonality(id);
    if (!found) throw notFound(id);
    return withFieldDefaults(found);
  }

  async create(input: NewPersonality): Promise<Personality> {
    checkName(input.name);
    // Names in scripts without a Latin slug ("日本語") still get a stable, readable-enough id.
    const id = slugify(input.name) || `personality-${randomUUID().slice(0, 8)}`;
    const now = this.#now();
    const personality: Personality = {
      ...DEFAULT_MODEL_SETTINGS,
      title: input.name,
      description: '',
      category: 'general',
      welcomeMessage: '',
      tags: [],
      isPublic: true,
      isDefault: false,
      memory: true,
      ...withoutBlankTags(input),
      id,
      usageCount: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (!(await this.deps.store.insertPersonality(personality))) {
      throw new ChatError('personality_exists', `A personality with the id "${id}" already exists; choose another name.`);
    }
    return personality;
  }

  /** Merges the given fields into the stored personality. */
  async update(id: string, changes: Partial<PersonalityInput>): Promise<Personality> {
    assertSomething(changes);
    if (changes.name !== undefined) checkName(changes.name);
    const current = await this.get(id);
    const updated: Personality = { ...current, ...withoutBlankTags(changes), id, updatedAt: this.#now() };
    if (!(await this.deps.store.replacePersonality(updated))) throw notFound(id);
    this.#changed();
    return updated;
  }

  /** Default personalities stay, and so does the one sessions get when they name none. */
  async remove(id: string): Promise<void> {
    const current = await this.get(id);
    if (current.isDefault) {
      throw new ChatError('personality_protected', `"${id}" is a default personality and cannot be deleted; edit it, or clear isDefault first.`);
    }
    if (id === this.deps.defaultPersonalityId) {
      throw new ChatError('personality_protected', `"${id}" is the server's default personality (DEFAULT_TEMPLATE_ID) and cannot be deleted.`);
    }
    if (!(await this.deps.store.deletePersonality(id))) throw notFound(id);
    this.#changed();
  }

  async getRules(): Promise<UniversalRules> {
    let rules = this.#rules;
    if (!rules) {
      const generation = this.#generation;
      rules = await this.deps.store.getUniversalRules();
      if (this.#mayKeep(generation)) this.#rules = rules;
    }
    return rules ?? { rules: '', version: 0, enabled: true, updatedAt: this.#now() };
  }

  async updateRules(changes: RulesUpdate): Promise<UniversalRules> {
    assertSomething(changes);
    const current = await this.getRules();
    const updated: UniversalRules = { ...current, ...changes, version: current.version + 1, updatedAt: this.#now() };
    await this.deps.store.putUniversalRules(updated);
    this.#changed();
    return updated;
  }

  /** The personality with its composed system prompt, or null when it does not exist. */
  async resolve(id: string): Promise<ResolvedPersonality | null> {
    const cached = this.#resolved.get(id);
    if (cached) return cached;
    const generation = this.#generation;
    const stored = await this.deps.store.getPersonality(id);
    const personality = stored && withFieldDefaults(stored);
    if (!personality) return null;
    const systemPrompt = composeSystemPrompt(await this.getRules(), personality.personalityPrompt);
    const resolved = { personality, systemPrompt, systemPromptTokens: this.deps.countTokens(systemPrompt) };
    if (this.#mayKeep(generation)) this.#resolved.set(id, resolved);
    return resolved;
  }

  /** A session's personality as it is now; its snapshot prompt if the personality was deleted since. */
  async forSession(session: Session): Promise<ResolvedPersonality> {
    const current = await this.resolve(session.templateId);
    if (current) return current;
    return {
      personality: {
        ...DEFAULT_MODEL_SETTINGS,
        id: session.templateId,
        name: session.templateId,
        title: '',
        description: '',
        category: '',
        personalityPrompt: session.systemPrompt,
        welcomeMessage: '',
        tags: [],
        isPublic: false,
        isDefault: false,
        memory: true,
        usageCount: 0,
        createdAt: session.createdAt,
        updatedAt: session.createdAt,
      },
      systemPrompt: session.systemPrompt,
      systemPromptTokens: this.deps.countTokens(session.systemPrompt),
    };
  }

  /** Counts a session's start against its personality. */
  recordUse(id: string): Promise<void> {
    return this.deps.store.incrementPersonalityUsage(id);
  }

  #now(): string {
    return this.deps.now().toISOString();
  }

  #changed(): void {
    this.#forget();
    this.#changes.publish();
  }

  /** Drops everything derived from personalities and rules; the next use reads the store. */
  #forget(): void {
    this.#generation += 1;
    this.#resolved.clear();
    this.#rules = null;
  }

  /** A value read since `generation` may be cached: nothing changed meanwhile, and news of changes arrives. */
  #mayKeep(generation: number): boolean {
    return generation === this.#generation && this.#changes.listening;
  }
}

/** Unknown fields are dropped before this point; an update left with nothing must not count as a change. */
function assertSomething(changes: object): void {
  if (Object.keys(changes).length === 0) {
    throw new ChatError('nothing_to_change', 'The request names no field that can be changed.');
  }
}

/** A form's "fun, " sends ["fun", ""]: an empty tag means nothing, so it is not kept. */
function withoutBlankTags<T extends { tags?: string[] | undefined }>(input: T): T {
  return input.tags ? { ...input, tags: input.tags.filter((tag) => tag.trim() !== '') } : input;
}

/** A name people pick a personality by must show something, on create and on update alike. */
function checkName(name: string): void {
  if (!hasVisibleCharacter(name)) throw new ChatError('invalid_name', 'The name cannot be blank (it has no visible character).');
}

function notFound(id: string): ChatError {
  return new ChatError('personality_not_found', `There is no personality "${id}".`);
}

export function modelSettingsOf(personality: ModelSettings): ModelSettings {
  const { model, temperature, maxTokens, presencePenalty, frequencyPenalty } = personality;
  return { model, temperature, maxTokens, presencePenalty, frequencyPenalty };
}

/** Fields added after a personality may have been stored take their defaults. */
function withFieldDefaults(p: Personality): Personality {
  return p.memory === undefined ? { ...p, memory: true } : p;
}
