import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { isPng, PngError, readChunks, textChunks } from './png-text-chunks.js';

/**
 * Character cards as TavernAI / SillyTavern share them (V1 flat JSON, V2 `chara_card_v2`, V3
 * `chara_card_v3`), as JSON or in a PNG's `chara` (V2) / `ccv3` (V3) text chunk. Cards are
 * untrusted input: checked against these schemas, bounded, and never evaluated (macros and any
 * template syntax in them stay text until the prompt's plain replacement).
 */

/** Lorebook entries one card may bring (each is scanned on every message). */
export const MAX_BOOK_ENTRIES = 1000;
const text = (maxLength = 100_000) => Type.String({ maxLength });
const strings = (maxItems: number) => Type.Array(text(1000), { maxItems });
const Extensions = Type.Record(Type.String(), Type.Unknown());

export const BookEntry = Type.Object({
  keys: strings(100),
  content: text(),
  extensions: Type.Optional(Extensions),
  enabled: Type.Boolean(),
  insertion_order: Type.Number(),
  case_sensitive: Type.Optional(Type.Boolean()),
  name: Type.Optional(text(1000)),
  priority: Type.Optional(Type.Number()),
  id: Type.Optional(Type.Union([Type.Number(), Type.String({ maxLength: 100 })])),
  comment: Type.Optional(text(10_000)),
  selective: Type.Optional(Type.Boolean()),
  secondary_keys: Type.Optional(strings(100)),
  constant: Type.Optional(Type.Boolean()),
  position: Type.Optional(Type.String({ maxLength: 100 })),
});
export type BookEntry = Static<typeof BookEntry>;

export const CharacterBook = Type.Object({
  name: Type.Optional(text(1000)),
  description: Type.Optional(text()),
  scan_depth: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  token_budget: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
  recursive_scanning: Type.Optional(Type.Boolean()),
  extensions: Type.Optional(Extensions),
  entries: Type.Array(BookEntry, { maxItems: MAX_BOOK_ENTRIES }),
});
export type CharacterBook = Static<typeof CharacterBook>;

// The specifications require every field; cards in the wild leave some out, so only the name is
// required here and a missing field counts as empty. A field of the wrong type is refused.
const v1Fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(text()),
  personality: Type.Optional(text()),
  scenario: Type.Optional(text()),
  first_mes: Type.Optional(text()),
  mes_example: Type.Optional(text()),
};

/** A card's data as V2 and V3 hold it (V3's extra fields are kept in `extensions` untouched). */
const CardData = Type.Object({
  ...v1Fields,
  creator_notes: Type.Optional(text()),
  system_prompt: Type.Optional(text()),
  post_history_instructions: Type.Optional(text()),
  alternate_greetings: Type.Optional(strings(100)),
  character_book: Type.Optional(Type.Union([CharacterBook, Type.Null()])),
  tags: Type.Optional(strings(100)),
  creator: Type.Optional(text(1000)),
  character_version: Type.Optional(text(1000)),
  extensions: Type.Optional(Extensions),
});

const V1 = Type.Object(v1Fields);
const V2 = Type.Object({ spec: Type.Literal('chara_card_v2'), spec_version: Type.String(), data: CardData });
const V3 = Type.Object({ spec: Type.Literal('chara_card_v3'), spec_version: Type.String(), data: CardData });

/** A card, whatever version it came as. */
export interface CharacterCard {
  name: string;
  description: string;
  personality: string;
  scenario: string;
  firstMes: string;
  alternateGreetings: string[];
  mesExample: string;
  systemPrompt: string;
  postHistoryInstructions: string;
  characterBook: CharacterBook | null;
  creator: string;
  creatorNotes: string;
  characterVersion: string;
  tags: string[];
  /** Everything else the card carried, kept and exported again, never interpreted. */
  extensions: Record<string, unknown>;
}

export class CardError extends Error {
  override readonly name = 'CardError';
}

function firstError(schema: TSchema, value: unknown): string {
  const [error] = Value.Errors(schema, value);
  if (!error) return 'it does not have the shape of a character card';
  const where = error.instancePath === '' ? 'the card' : `the card's ${error.instancePath.slice(1).replaceAll('/', '.')}`;
  return `${where} ${error.message}`;
}

/** A card from its JSON (V1, V2 or V3); throws CardError saying what is wrong. */
export function cardFromJson(json: unknown): CharacterCard {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CardError('a card is a JSON object');
  const spec = (json as { spec?: unknown }).spec;
  if (spec === 'chara_card_v2' || spec === 'chara_card_v3') {
    const schema = spec === 'chara_card_v2' ? V2 : V3;
    if (!Value.Check(schema, json)) throw new CardError(firstError(schema, json));
    const card = json as Static<typeof V2>;
    const { data } = card;
    const extra = Object.fromEntries(Object.entries(data).filter(([key]) => !(key in CardData.properties)));
    const extensions = data.extensions ?? {};
    return {
      ...v1Of(data),
      alternateGreetings: data.alternate_greetings ?? [],
      systemPrompt: data.system_prompt ?? '',
      postHistoryInstructions: data.post_history_instructions ?? '',
      characterBook: data.character_book ?? null,
      creator: data.creator ?? '',
      creatorNotes: data.creator_notes ?? '',
      characterVersion: data.character_version ?? '',
      tags: data.tags ?? [],
      // V3's own fields (nickname, assets, …) ride along with the extensions, exported again as they came.
      extensions: Object.keys(extra).length > 0 ? { ...extensions, chatify_v3_fields: extra } : extensions,
    };
  }
  if (spec !== undefined) throw new CardError(`cards of spec "${String(spec).slice(0, 40)}" are not known`);
  if (!Value.Check(V1, json)) throw new CardError(firstError(V1, json));
  return {
    ...v1Of(json as Static<typeof V1>),
    alternateGreetings: [],
    systemPrompt: '',
    postHistoryInstructions: '',
    characterBook: null,
    creator: '',
    creatorNotes: '',
    characterVersion: '',
    tags: [],
    extensions: {},
  };
}

/** A card from a PNG's `ccv3` chunk (preferred) or `chara` chunk: base64 of UTF-8 JSON. */
export function cardFromPng(file: Buffer): CharacterCard {
  let texts: Map<string, string>;
  try {
    texts = textChunks(readChunks(file));
  } catch (error) {
    throw new CardError(error instanceof PngError ? error.message : 'the PNG cannot be read');
  }
  const encoded = texts.get('ccv3') ?? texts.get('chara');
  if (encoded === undefined) throw new CardError('the PNG carries no card (no "ccv3" or "chara" text chunk)');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded.trim())) throw new CardError('the card chunk is not base64');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded.trim(), 'base64')));
  } catch {
    throw new CardError('the card chunk does not hold JSON');
  }
  return cardFromJson(json);
}

/** A card from an upload: a PNG by its signature, else JSON. */
export function parseCard(body: Buffer): CharacterCard {
  if (isPng(body)) return cardFromPng(body);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new CardError('it is neither a PNG nor JSON');
  }
  return cardFromJson(json);
}

function v1Of(data: Static<typeof V1>) {
  return {
    name: data.name,
    description: data.description ?? '',
    personality: data.personality ?? '',
    scenario: data.scenario ?? '',
    firstMes: data.first_mes ?? '',
    mesExample: data.mes_example ?? '',
  };
}
