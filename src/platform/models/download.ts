// One file fetched over HTTP into `<dest>.part`, resumed with a Range request when a part is already there, and
// checked against its checksum before it is handed back: a file whose checksum does not match is deleted, never used.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

/** What the file must hash to: a pinned or Hub-published SHA-256, or (a small file on the Hub) its git blob SHA-1. */
export type Checksum = { algorithm: "sha256"; hex: string } | { algorithm: "git-sha1"; hex: string };

export class ChecksumMismatchError extends Error {
  override name = "ChecksumMismatchError";
}

/** The host could not be reached at all (refused, unknown, no answer within the connect timeout). */
export class HostUnreachableError extends Error {
  override name = "HostUnreachableError";
}

export interface DownloadOptions {
  url: string;
  /** The final file; bytes go to `<dest>.part` until they are verified. */
  dest: string;
  bytes: number | null;
  checksum: Checksum;
  /** `received` counts the bytes already in the part too, so a resumed download starts where it was. */
  onProgress?(received: number, total: number | null): void;
  signal?: AbortSignal;
  /** How long to wait for the response headers; the body may then take as long as it needs while it keeps coming. */
  connectTimeoutMs: number;
  /** How long the body may stall before the download is dropped (the part stays, to resume). */
  stallTimeoutMs: number;
  fetch?: typeof fetch;
}

/** Downloads `url` to `<dest>.part` (resuming it), verifies it, and returns the verified part's path. */
export async function downloadFile(o: DownloadOptions): Promise<string> {
  const part = `${o.dest}.part`;
  mkdirSync(dirname(part), { recursive: true });
  let have = existsSync(part) ? statSync(part).size : 0;
  if (o.bytes !== null && have > o.bytes) {
    truncateSync(part, 0);
    have = 0;
  }
  if (o.bytes === null || have < o.bytes) await fetchInto(o, part, have);
  const actual = await hashFile(part, o.checksum.algorithm);
  if (actual !== o.checksum.hex.toLowerCase()) {
    unlinkSync(part);
    throw new ChecksumMismatchError(`${o.url} does not match its ${o.checksum.algorithm === "sha256" ? "SHA-256" : "git SHA-1"} checksum (expected ${o.checksum.hex}, got ${actual}); the file was deleted`);
  }
  return part;
}

async function fetchInto(o: DownloadOptions, part: string, have: number) {
  const controller = new AbortController();
  const abort = () => controller.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", abort, { once: true });
  let timer = setTimeout(() => controller.abort(new HostUnreachableError(`no answer from ${new URL(o.url).origin} within ${o.connectTimeoutMs / 1000} s`)), o.connectTimeoutMs);
  try {
    let res: Response;
    try {
      res = await (o.fetch ?? fetch)(o.url, { headers: have ? { range: `bytes=${have}-` } : {}, signal: controller.signal });
    } catch (error) {
      if (o.signal?.aborted) throw o.signal.reason;
      if (controller.signal.reason instanceof HostUnreachableError) throw controller.signal.reason;
      throw new HostUnreachableError(`cannot reach ${new URL(o.url).origin}: ${(error as Error).message}`);
    }
    // 416: the part already holds every byte (its size was unknown up front); the checksum decides.
    if (res.status === 416 && have) return;
    if (res.status !== 200 && res.status !== 206) throw new Error(`${o.url} answered HTTP ${res.status}`);
    // A server that ignores Range sends the whole file again: start the part over.
    const offset = res.status === 206 ? have : 0;
    const length = Number(res.headers.get("content-length"));
    const total = o.bytes ?? (Number.isFinite(length) && res.headers.has("content-length") ? offset + length : null);
    const out = createWriteStream(part, { flags: offset ? "a" : "w" });
    const closed = new Promise<void>((resolve, reject) => {
      out.on("close", resolve);
      out.on("error", reject);
    });
    let received = offset;
    o.onProgress?.(received, total);
    try {
      for await (const chunk of res.body!) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(new Error(`${o.url} stalled for ${o.stallTimeoutMs / 1000} s`)), o.stallTimeoutMs);
        if (!out.write(chunk)) await new Promise((r) => out.once("drain", r));
        received += chunk.byteLength;
        o.onProgress?.(received, total);
      }
    } catch (error) {
      throw o.signal?.aborted ? o.signal.reason : controller.signal.aborted ? controller.signal.reason : error;
    } finally {
      out.end();
      await closed;
    }
    if (total !== null && received < total) throw new Error(`${o.url} ended after ${received} of ${total} bytes; the next attempt resumes it`);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", abort);
  }
}

/** The file's hash, read as a stream so a large model never sits in memory. */
export async function hashFile(path: string, algorithm: Checksum["algorithm"]): Promise<string> {
  const hash = createHash(algorithm === "sha256" ? "sha256" : "sha1");
  // git hashes a blob as "blob <size>\0" followed by its bytes.
  if (algorithm === "git-sha1") hash.update(`blob ${statSync(path).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
