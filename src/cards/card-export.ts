import type { CharacterCard } from './character-card.js';
import { plainPng, readChunks, withTexts } from './png-text-chunks.js';

/** A card's data in the V2/V3 field names, V3's own fields put back where they came from. */
function cardData(card: CharacterCard) {
  const { chatify_v3_fields: v3Fields, ...extensions } = card.extensions as { chatify_v3_fields?: Record<string, unknown> };
  return {
    name: card.name,
    description: card.description,
    personality: card.personality,
    scenario: card.scenario,
    first_mes: card.firstMes,
    mes_example: card.mesExample,
    creator_notes: card.creatorNotes,
    system_prompt: card.systemPrompt,
    post_history_instructions: card.postHistoryInstructions,
    alternate_greetings: card.alternateGreetings,
    ...(card.characterBook ? { character_book: card.characterBook } : {}),
    tags: card.tags,
    creator: card.creator,
    character_version: card.characterVersion,
    extensions,
    ...(v3Fields ?? {}),
  };
}

/** A V3 card (`chara_card_v3`, 3.0) with every field. */
export function cardV3(card: CharacterCard) {
  return { spec: 'chara_card_v3' as const, spec_version: '3.0', data: { group_only_greetings: [], ...cardData(card) } };
}

/** A V2 copy, for older tools. */
export function cardV2(card: CharacterCard) {
  const { group_only_greetings: _g, nickname: _n, creator_notes_multilingual: _c, source: _s, creation_date: _cd, modification_date: _md, assets: _a, ...data } =
    cardData(card) as Record<string, unknown>;
  return { spec: 'chara_card_v2' as const, spec_version: '2.0', data };
}

const base64Json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64');

/** The avatar (or a plain one) carrying the V3 card in `ccv3` and a V2 copy in `chara`. */
export function cardPng(card: CharacterCard, avatar: Buffer | null): Buffer {
  const chunks = readChunks(avatar ?? plainPng());
  return withTexts(chunks, new Map([['chara', base64Json(cardV2(card))], ['ccv3', base64Json(cardV3(card))]]));
}
