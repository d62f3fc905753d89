/** The independent PNG chunk reader the card tests check our files with (they ship no types). */
declare module 'png-chunks-extract' {
  export default function extract(data: Uint8Array): { name: string; data: Uint8Array }[];
}
declare module 'png-chunk-text' {
  export function decode(data: Uint8Array): { keyword: string; text: string };
  export function encode(keyword: string, text: string): { name: string; data: Uint8Array };
}
