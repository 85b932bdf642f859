// What the Hugging Face Hub publishes about a file before it is fetched: `HEAD …/resolve/main/<file>` answers an LFS
// file with a redirect to its storage carrying `X-Linked-Etag` (the file's SHA-256) and `X-Linked-Size`, and a small
// file kept in git with 200 and an `ETag` that is its git blob SHA-1. The same rules huggingface_hub follows.
import { type Checksum, HostUnreachableError } from "./download.ts";

export interface PublishedFile {
  /** Where the bytes are fetched from (the storage URL an LFS file redirects to). */
  url: string;
  bytes: number | null;
  checksum: Checksum;
}

export async function hubFile(url: string, o: { connectTimeoutMs: number; signal?: AbortSignal; fetch?: typeof fetch }): Promise<PublishedFile> {
  let current = url;
  for (let hop = 0; hop < 5; hop++) {
    const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(o.connectTimeoutMs)]) : AbortSignal.timeout(o.connectTimeoutMs);
    let res: Response;
    try {
      res = await (o.fetch ?? fetch)(current, { method: "HEAD", redirect: "manual", signal });
    } catch (error) {
      if (o.signal?.aborted) throw o.signal.reason;
      throw new HostUnreachableError(`cannot reach ${new URL(current).origin}: ${(error as Error).message}`);
    }
    const tag = unquote(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
    const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length"));
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, current).toString();
      // An LFS file: the redirect itself names its checksum.
      if (res.headers.has("x-linked-etag") && /^[0-9a-f]{64}$/.test(tag)) return { url: next, bytes: Number.isFinite(size) ? size : null, checksum: { algorithm: "sha256", hex: tag } };
      current = next;
      continue;
    }
    if (res.status !== 200) throw new Error(`${current} answered HTTP ${res.status}`);
    const checksum: Checksum | null = /^[0-9a-f]{64}$/.test(tag) ? { algorithm: "sha256", hex: tag } : /^[0-9a-f]{40}$/.test(tag) ? { algorithm: "git-sha1", hex: tag } : null;
    if (!checksum) throw new Error(`${current} publishes no checksum (ETag "${tag}"); not fetching a file that cannot be verified`);
    return { url: current, bytes: Number.isFinite(size) && res.headers.has("content-length") ? size : null, checksum };
  }
  throw new Error(`${url} redirects more than 5 times`);
}

/** `"abc"` and `W/"abc"` → `abc`. */
function unquote(tag: string | null): string {
  return (tag ?? "").replace(/^W\//, "").replace(/"/g, "").toLowerCase();
}
