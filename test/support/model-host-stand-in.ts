// Stand-in for the two hosts models come from, laid out as they are and answering as they do:
// - the Hugging Face Hub: `HEAD|GET /<owner>/<name>/resolve/main/<file>` answers a small (git) file with 200 and an
//   `ETag` holding its git blob SHA-1, and an LFS file with a 302 to its storage carrying `X-Linked-Etag` (its SHA-256)
//   and `X-Linked-Size`, as huggingface.co does;
// - GitHub releases: `GET /<owner>/<repo>/releases/download/<tag>/<asset>` redirects (302) to the asset's storage.
// Storage honours `Range: bytes=N-` with 206 and `Content-Range`, as both hosts' storage does. A file can be cut off
// midway (the connection drops after some bytes, once), held midway until the test lets it go, or served corrupted.
import { createHash } from "node:crypto";

export interface HostedFile {
  bytes: Uint8Array;
  /** Hub only: an LFS file (served through a redirect naming its SHA-256) rather than a small git file. */
  lfs?: boolean;
  /** The first GET without Range stops after this many bytes and drops the connection. */
  cutAt?: number;
  /** Every GET pauses after this many bytes until `release()` is called. */
  holdAt?: number;
  /** Served in place of `bytes`, while the published checksum stays that of `bytes`. */
  corrupt?: boolean;
}

export interface ModelHostStandIn {
  url: string;
  /** Every request seen: method, path and Range header. */
  requests: { method: string; path: string; range: string | null }[];
  /** `path` like `/onnx-community/x/resolve/main/config.json` or `/k2-fsa/sherpa-onnx/releases/download/asr-models/a.tar.bz2`. */
  host(path: string, file: HostedFile): void;
  /** Lets held downloads go on. */
  release(): void;
  /** Resolves once a held download has reached its hold point. */
  held: Promise<void>;
  stop(): void;
}

export function startModelHost(): ModelHostStandIn {
  const files = new Map<string, HostedFile>();
  const byStorage = new Map<string, HostedFile>();
  const requests: ModelHostStandIn["requests"] = [];
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const { promise: held, resolve: reachedHold } = Promise.withResolvers<void>();

  const serveStored = (file: HostedFile, req: Request): Response => {
    const bytes = file.corrupt ? file.bytes.map((b) => b ^ 0xff) : file.bytes;
    const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
    const from = range ? Number(range[1]) : 0;
    if (from >= bytes.length && range) return new Response(null, { status: 416, headers: { "content-range": `bytes */${bytes.length}` } });
    const body = bytes.subarray(from);
    const headers: Record<string, string> = { "content-length": String(body.length), "accept-ranges": "bytes", "content-type": "application/octet-stream" };
    if (range) headers["content-range"] = `bytes ${from}-${bytes.length - 1}/${bytes.length}`;
    if (req.method === "HEAD") return new Response(null, { status: range ? 206 : 200, headers });
    const cut = !range && file.cutAt !== undefined ? file.cutAt : null;
    if (cut !== null) file.cutAt = undefined;
    const hold = file.holdAt;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const stop = cut ?? (hold !== undefined && hold > from ? hold - from : null);
        if (stop === null) {
          controller.enqueue(body);
          controller.close();
          return;
        }
        controller.enqueue(body.subarray(0, stop));
        if (cut !== null) {
          // The body ends short of its Content-Length, as when the connection drops midway.
          controller.close();
          return;
        }
        reachedHold();
        await released;
        controller.enqueue(body.subarray(stop));
        controller.close();
      },
    });
    return new Response(stream, { status: range ? 206 : 200, headers });
  };

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push({ method: req.method, path, range: req.headers.get("range") });
      const stored = byStorage.get(path);
      if (stored) return serveStored(stored, req);
      const file = files.get(path);
      if (!file) return new Response("Entry not found", { status: 404 });
      const sha256 = createHash("sha256").update(file.bytes).digest("hex");
      if (path.includes("/releases/download/")) return new Response(null, { status: 302, headers: { location: `/release-assets${path}` } });
      if (file.lfs) {
        return new Response(null, {
          status: 302,
          headers: { location: `/lfs-storage/${sha256}`, "x-linked-etag": `"${sha256}"`, "x-linked-size": String(file.bytes.length), etag: `"${sha256}"` },
        });
      }
      const gitSha1 = createHash("sha1").update(`blob ${file.bytes.length}\0`).update(file.bytes).digest("hex");
      const res = serveStored(file, req);
      res.headers.set("etag", `"${gitSha1}"`);
      return res;
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    host(path, file) {
      files.set(path, file);
      const sha256 = createHash("sha256").update(file.bytes).digest("hex");
      byStorage.set(path.includes("/releases/download/") ? `/release-assets${path}` : `/lfs-storage/${sha256}`, file);
    },
    release: () => release(),
    held,
    stop: () => void server.stop(true),
  };
}
