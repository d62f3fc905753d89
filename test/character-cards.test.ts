import extract from 'png-chunks-extract';
import { decode as decodeText } from 'png-chunk-text';
import { describe, expect, it } from 'vitest';
import { cardPng, cardV2, cardV3 } from '../src/cards/card-export.js';
import { CardError, parseCard, type CharacterCard } from '../src/cards/character-card.js';
import { plainPng, readChunks, withTexts } from '../src/cards/png-text-chunks.js';

const book = {
  name: 'Harbour lore',
  scan_depth: 2,
  token_budget: 200,
  extensions: {},
  entries: [
    { keys: ['lighthouse'], content: 'The lighthouse has 113 steps.', extensions: {}, enabled: true, insertion_order: 2 },
    { keys: [], content: 'It always rains on Tuesdays.', extensions: {}, enabled: true, insertion_order: 1, constant: true },
  ],
};
const v2 = {
  spec: 'chara_card_v2',
  spec_version: '2.0',
  data: {
    name: 'Mara the Keeper',
    description: '{{char}} keeps the lighthouse.',
    personality: 'gruff, kind',
    scenario: '{{user}} rows up in a storm.',
    first_mes: 'Who goes there, {{user}}?',
    mes_example: '<START>\n{{user}}: Hi\n{{char}}: Mind the steps.',
    creator_notes: 'Be nice to her.',
    system_prompt: '',
    post_history_instructions: 'Stay in character.',
    alternate_greetings: ['Another storm, another stranger.'],
    character_book: book,
    tags: ['sea', 'lighthouse'],
    creator: 'someone',
    character_version: '1.2',
    extensions: { talkativeness: '0.5', depth_prompt: { prompt: 'x', depth: 4 } },
  },
};
const v3 = { ...v2, spec: 'chara_card_v3', spec_version: '3.0', data: { ...v2.data, nickname: 'Mar', group_only_greetings: [], assets: [] } };
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64');
const pngWith = (texts: Record<string, string>) => withTexts(readChunks(plainPng()), new Map(Object.entries(texts)));

describe('character cards', () => {
  it('reads V1, V2 and V3 cards as JSON, and V2 and V3 in a PNG (ccv3 preferred)', () => {
    const one = parseCard(json({ name: 'Old Timer', description: 'd', personality: 'p', scenario: 's', first_mes: 'Hello', mes_example: 'e' }));
    expect(one).toMatchObject({ name: 'Old Timer', firstMes: 'Hello', alternateGreetings: [], characterBook: null, extensions: {} });
    const two = parseCard(json(v2));
    expect(two).toMatchObject({ name: 'Mara the Keeper', firstMes: 'Who goes there, {{user}}?', postHistoryInstructions: 'Stay in character.', tags: ['sea', 'lighthouse'] });
    expect(two.characterBook?.entries).toHaveLength(2);
    expect(two.extensions).toEqual(v2.data.extensions);
    const three = parseCard(json(v3));
    expect(three.extensions['chatify_v3_fields']).toEqual({ nickname: 'Mar', group_only_greetings: [], assets: [] });
    const both = pngWith({ chara: b64({ ...v2, data: { ...v2.data, name: 'From V2' } }), ccv3: b64(v3) });
    expect(parseCard(both).name).toBe('Mara the Keeper');
    expect(parseCard(pngWith({ chara: b64(v2) })).name).toBe('Mara the Keeper');
  });

  it('writes cards back: V3 and V2 JSON and a PNG that another parser reads, all equal to what was read', () => {
    const card = parseCard(json(v3));
    expect(parseCard(json(cardV3(card)))).toEqual(card);
    expect(cardV3(card)).toMatchObject({ spec: 'chara_card_v3', spec_version: '3.0', data: { nickname: 'Mar', name: 'Mara the Keeper' } });
    expect(cardV2(card)).toMatchObject({ spec: 'chara_card_v2', spec_version: '2.0' });
    expect(cardV2(card).data).not.toHaveProperty('nickname');
    const png = cardPng(card, null);
    expect(parseCard(png)).toEqual(card);
    // An independent reader finds both chunks, with valid CRCs, and the same cards in them.
    const chunks = extract(png);
    expect(chunks.map((c) => c.name)).toEqual(['IHDR', 'IDAT', 'tEXt', 'tEXt', 'IEND']);
    const texts = Object.fromEntries(chunks.filter((c) => c.name === 'tEXt').map((c) => decodeText(c.data)).map((t) => [t.keyword, t.text]));
    expect(JSON.parse(Buffer.from(texts['ccv3']!, 'base64').toString('utf8'))).toEqual(cardV3(card));
    expect(JSON.parse(Buffer.from(texts['chara']!, 'base64').toString('utf8'))).toEqual(cardV2(card));
    // The avatar keeps its image chunks; old text chunks go.
    const avatar = pngWith({ Comment: 'made with a paint program', chara: b64({ name: 'stale' }) });
    const exported = extract(cardPng(card, avatar));
    expect(exported.filter((c) => c.name === 'tEXt').map((c) => decodeText(c.data).keyword)).toEqual(['chara', 'ccv3']);
  });

  it('keeps template syntax and scripts as plain text: cards are never evaluated', () => {
    const sneaky = '{{#if true}}<% process.exit() %>${process.env.SECRET}<script>alert(1)</script>{{random:a,b}}';
    const card = parseCard(json({ ...v2, data: { ...v2.data, description: sneaky, first_mes: sneaky } }));
    expect([card.description, card.firstMes]).toEqual([sneaky, sneaky]);
  });

  const good = cardPng(parseCard(json(v2)), null);
  const withCrcBroken = Buffer.from(good);
  withCrcBroken.writeUInt8(withCrcBroken.readUInt8(withCrcBroken.length - 20) ^ 0xff, withCrcBroken.length - 20);
  const claimsHuge = Buffer.from(good);
  claimsHuge.writeUInt32BE(100 * 1024 * 1024, 8);
  const bigger = Buffer.from(good);
  bigger.writeUInt32BE(good.length, 33);
  const noIhdr = withTexts(readChunks(plainPng()).filter((c) => c.type !== 'IHDR'), new Map([['chara', b64(v2)]]));
  const bad: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /neither a PNG nor JSON/],
    ['text', Buffer.from('hello'), /neither a PNG nor JSON/],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b]), /neither a PNG nor JSON/],
    ['truncated PNG', good.subarray(0, 40), /cut short|more than the file holds/],
    ['signature only', good.subarray(0, 8), /IHDR/],
    ['wrong CRC', withCrcBroken, /CRC/],
    ['100 MB claimed length', claimsHuge, /more than the file holds|CRC/],
    ['chunk bigger than the file', bigger, /more than the file holds|CRC/],
    ['no IHDR first', noIhdr, /IHDR/],
    ['no IEND', good.subarray(0, good.length - 12), /IEND/],
    ['PNG without a card', plainPng(), /no card/],
    ['chunk not base64', pngWith({ chara: '!!! not base64 !!!' }), /not base64/],
    ['base64 of non-JSON', pngWith({ chara: b64('just words') }), /does not hold JSON/],
    ['base64 of an array', pngWith({ ccv3: b64([1, 2, 3]) }), /JSON object/],
    ['JSON array', json([v2]), /JSON object/],
    ['no name', json({ description: 'nameless' }), /name/],
    ['empty name', json({ ...v2, data: { ...v2.data, name: '' } }), /name/],
    ['name of the wrong type', json({ ...v2, data: { ...v2.data, name: 42 } }), /name/],
    ['V2 without data', json({ spec: 'chara_card_v2', spec_version: '2.0' }), /data/],
    ['unknown spec', json({ spec: 'chara_card_v9', data: {} }), /not known/],
    ['greetings not text', json({ ...v2, data: { ...v2.data, alternate_greetings: [1, 2] } }), /alternate_greetings/],
    ['extensions not an object', json({ ...v2, data: { ...v2.data, extensions: 'x' } }), /extensions/],
    ['lorebook entries not a list', json({ ...v2, data: { ...v2.data, character_book: { ...book, entries: 'x' } } }), /character_book/],
    ['lorebook entry without keys', json({ ...v2, data: { ...v2.data, character_book: { ...book, entries: [{ content: 'x', enabled: true, insertion_order: 1 }] } } }), /keys/],
    ['10,000 lorebook entries', json({ ...v2, data: { ...v2.data, character_book: { ...book, entries: Array.from({ length: 10_000 }, (_, i) => ({ ...book.entries[0], insertion_order: i })) } } }), /character_book.entries/],
    ['101 tags', json({ ...v2, data: { ...v2.data, tags: Array.from({ length: 101 }, (_, i) => `t${i}`) } }), /tags/],
  ];
  it(`refuses ${bad.length} malformed cards, each with what is wrong`, () => {
    expect(bad.length).toBeGreaterThanOrEqual(20);
    for (const [what, body, reason] of bad) {
      let error: unknown;
      try {
        parseCard(body);
      } catch (caught) {
        error = caught;
      }
      expect([what, error instanceof CardError]).toEqual([what, true]);
      expect([what, (error as Error).message]).toEqual([what, expect.stringMatching(reason)]);
    }
  });
});

export type { CharacterCard };
