// Resource ids: `<prefix>_<26 chars>`, a ULID (48-bit millisecond time + 80 random bits, Crockford base32).
// Ids sort by creation time, so "newest first" and keyset pagination can order by id alone.
// Within one millisecond the random part is incremented, keeping ids from one process strictly increasing.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = -1;
const lastRandom = new Uint8Array(10);

export function newId(prefix: string, now = Date.now()): string {
  if (now <= lastTime) {
    incrementRandom();
    now = lastTime;
  } else {
    lastTime = now;
    crypto.getRandomValues(lastRandom);
    lastRandom[0]! &= 0x7f; // leave headroom so increments within a millisecond never overflow
  }
  return `${prefix}_${encodeTime(now)}${encodeRandom(lastRandom)}`;
}

/** The lowest id with `prefix` made at or after `ms`: ids at or above it (as strings) were made from then on. */
export function firstIdAt(prefix: string, ms: number): string {
  return `${prefix}_${encodeTime(ms)}`;
}

/** The millisecond an id was made at (its ULID's time part). */
export function idTime(id: string): number {
  let ms = 0;
  for (const c of id.slice(id.lastIndexOf("_") + 1, id.lastIndexOf("_") + 11)) ms = ms * 32 + ALPHABET.indexOf(c);
  return ms;
}

function incrementRandom() {
  for (let i = lastRandom.length - 1; i >= 0; i--) {
    if (lastRandom[i] === 0xff) {
      lastRandom[i] = 0;
    } else {
      lastRandom[i]!++;
      return;
    }
  }
}

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits → 16 base32 characters, 5 bits at a time.
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}
