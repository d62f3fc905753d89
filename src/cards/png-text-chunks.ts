/**
 * PNG files as character cards carry them: text chunks (`tEXt`) read and written without ever
 * decoding an image (no decompression, no pixel buffers: an untrusted file costs what its bytes
 * cost). Chunks are checked whole: lengths within the file, CRCs right, IEND last.
 */

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export class PngError extends Error {
  override readonly name = 'PngError';
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The CRC-32 of PNG chunks (ISO 3309), over the chunk type and data. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface PngChunk {
  type: string;
  data: Buffer;
}

export const isPng = (bytes: Uint8Array) => bytes.length >= SIGNATURE.length && SIGNATURE.equals(Buffer.from(bytes.subarray(0, 8)));

/** Every chunk of a PNG, checked; throws PngError saying what is wrong. */
export function readChunks(file: Buffer): PngChunk[] {
  if (!isPng(file)) throw new PngError('it is not a PNG file (the signature is missing)');
  const chunks: PngChunk[] = [];
  let at = SIGNATURE.length;
  while (at < file.length) {
    if (file.length - at < 12) throw new PngError(`the file is cut short inside a chunk header at byte ${at}`);
    const length = file.readUInt32BE(at);
    const type = file.toString('latin1', at + 4, at + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngError(`a chunk at byte ${at} has no valid type`);
    if (length > file.length - at - 12) throw new PngError(`the ${type} chunk claims ${length} bytes, more than the file holds`);
    const body = file.subarray(at + 4, at + 8 + length);
    if (crc32(body) !== file.readUInt32BE(at + 8 + length)) throw new PngError(`the ${type} chunk's CRC is wrong`);
    chunks.push({ type, data: file.subarray(at + 8, at + 8 + length) });
    at += 12 + length;
    if (type === 'IEND') break;
  }
  if (chunks[0]?.type !== 'IHDR') throw new PngError('the first chunk is not IHDR');
  if (chunks.at(-1)?.type !== 'IEND') throw new PngError('the file ends without IEND');
  return chunks;
}

/** The `tEXt` chunks, keyword → text (Latin-1, as PNG defines it); the first of a keyword wins. */
export function textChunks(chunks: readonly PngChunk[]): Map<string, string> {
  const texts = new Map<string, string>();
  for (const { type, data } of chunks) {
    if (type !== 'tEXt') continue;
    const zero = data.indexOf(0);
    if (zero < 1) continue;
    const keyword = data.toString('latin1', 0, zero);
    if (!texts.has(keyword)) texts.set(keyword, data.toString('latin1', zero + 1));
  }
  return texts;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, tail]);
}

/** The PNG with every text chunk removed (tEXt, zTXt, iTXt), then `texts` added before IEND. */
export function withTexts(chunks: readonly PngChunk[], texts: ReadonlyMap<string, string>): Buffer {
  const kept = chunks.filter((c) => c.type !== 'tEXt' && c.type !== 'zTXt' && c.type !== 'iTXt' && c.type !== 'IEND');
  const added = [...texts].map(([keyword, text]) => chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')])));
  return Buffer.concat([SIGNATURE, ...kept.map((c) => chunk(c.type, c.data)), ...added, chunk('IEND', Buffer.alloc(0))]);
}

/** A plain 1×1 PNG (one grey pixel), for personalities without an avatar. */
export function plainPng(): Buffer {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  // A zlib stream of one scanline: filter 0, grey 0x80 (stored, not compressed).
  const idat = Buffer.from([0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff, 0x00, 0x80, 0x00, 0x82, 0x00, 0x81]);
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
