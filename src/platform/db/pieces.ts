// Large values (an upload's bytes, a source's extracted text) are written and read in pieces, one short statement
// each. The embedded store has one connection on the main thread: a single statement carrying 5 MB held it for
// up to a second, and every other request of every organization waited behind it. Between pieces the writer and
// reader give way to the event loop (`yieldToEventLoop`; awaiting the query alone resumes as a microtask, before
// any request is read), so other requests and their queries run. Postgres takes the same path: the parts are as correct there, and one layout serves both stores.

/** Bytes per piece: each statement stays in the tens of milliseconds on the embedded store. */
export const PIECE_BYTES = 256 * 1024;
/** UTF-16 code units per piece of text. */
export const PIECE_CHARS = 256 * 1024;

export function bytePieces(bytes: Uint8Array, size = PIECE_BYTES): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += size) pieces.push(bytes.subarray(at, at + size));
  return pieces;
}

/** Cut where no surrogate pair is split: each piece is valid text on its own, as a `text` column requires. */
export function textPieces(text: string, size = PIECE_CHARS): string[] {
  const pieces: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - 1 > at && last >= 0xd800 && last <= 0xdbff) end -= 1;
    pieces.push(text.slice(at, end));
    at = end;
  }
  return pieces;
}

/**
 * Bytes cross as base64 text: PGlite serializes a `bytea` parameter or result several times slower than a string
 * of the same size (a 256 KB piece: ~100 ms as bytea, ~15 ms as base64).
 */
export const toBase64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
export const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
