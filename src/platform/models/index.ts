// The model door: what the default models are (manifest.ts), which of them MODELS_DIR lacks, and fetching those:
// first one line per model saying what, from where and how big, then progress, then a verified, atomic install
// (extracted or assembled in a folder beside the target, then renamed into place), one model after the other.
// `startModelDownloads` runs it in the background at start; `bun run models pull` runs it in the foreground.
import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "../log.ts";
import { type Checksum, ChecksumMismatchError, downloadFile } from "./download.ts";
import { hubFile } from "./hub.ts";
import { FALLBACKS, kindPresent, type ModelKind, type ModelSpec } from "./manifest.ts";
import { createProgressReporter, megabytes, type ProgressReporter } from "./progress.ts";

export { ChecksumMismatchError, downloadFile, hashFile, HostUnreachableError } from "./download.ts";
export { configuredManifest, defaultManifest, FALLBACKS, kindPresent, MODEL_KINDS, piperVoiceFor } from "./manifest.ts";
export type { ModelFile, ModelKind, ModelSpec } from "./manifest.ts";
export { createProgressReporter, lineReporter, megabytes } from "./progress.ts";
export type { ProgressReporter } from "./progress.ts";

export interface ModelManagerOptions {
  modelsDir: string;
  manifest: ModelSpec[];
  log: Logger;
  reporter?: ProgressReporter;
  fetch?: typeof fetch;
  /** How long a host may take to answer before it counts as unreachable (offline, air-gapped). */
  connectTimeoutMs?: number;
  /** How long a download may stall mid-body before it is dropped (its part stays, to resume). */
  stallTimeoutMs?: number;
  /** Runs once a model is installed: the running server switches to it here. */
  onInstalled?(spec: ModelSpec): void | Promise<void>;
}

export interface ModelStatus {
  spec: ModelSpec;
  present: boolean;
  /** On disk when present; the pinned download size when missing (null: the host says it at download time). */
  bytes: number | null;
}

export interface PullResult {
  installed: ModelKind[];
  failed: { kind: ModelKind; reason: string }[];
  /** Hosts that could not be reached: their models were not tried. */
  unreachable: string[];
}

type Resolved = { spec: ModelSpec; files: { path: string; url: string; bytes: number | null; checksum: Checksum }[] };

export function createModelManager(o: ModelManagerOptions) {
  const { modelsDir, log } = o;
  const connectTimeoutMs = o.connectTimeoutMs ?? 5000;
  const stallTimeoutMs = o.stallTimeoutMs ?? 60_000;
  const reporter = o.reporter ?? createProgressReporter(log);
  const partsDir = join(modelsDir, ".downloads");

  const list = (): ModelStatus[] =>
    o.manifest.map((spec) => {
      const present = kindPresent(modelsDir, spec);
      const pinned = spec.files.every((f) => f.bytes !== null) ? spec.files.reduce((sum, f) => sum + f.bytes!, 0) : null;
      // A model of the kind the operator put in place elsewhere counts as present: its kind's folder is measured.
      return { spec, present, bytes: present ? sizeOnDisk(join(modelsDir, existsSync(join(modelsDir, spec.dir)) ? spec.dir : spec.kind)) : pinned };
    });

  /** Whether anything answers at `origin` within the connect timeout (any HTTP status counts). */
  const reachable = async (origin: string, signal?: AbortSignal): Promise<string | null> => {
    try {
      await (o.fetch ?? fetch)(origin, { method: "HEAD", redirect: "manual", signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(connectTimeoutMs)]) : AbortSignal.timeout(connectTimeoutMs) });
      return null;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      return (error as Error).name === "TimeoutError" ? `no answer within ${connectTimeoutMs / 1000} s` : (error as Error).message;
    }
  };

  const resolve = async (spec: ModelSpec, signal?: AbortSignal): Promise<Resolved> => ({
    spec,
    files: await Promise.all(
      spec.files.map(async (f) => {
        if (f.sha256) return { path: f.path, url: f.url, bytes: f.bytes, checksum: { algorithm: "sha256" as const, hex: f.sha256 } };
        const published = await hubFile(f.url, { connectTimeoutMs, signal, fetch: o.fetch });
        return { path: f.path, ...published };
      }),
    ),
  });

  const fetchAndInstall = async ({ spec, files }: Resolved, signal?: AbortSignal) => {
    const total = files.every((f) => f.bytes !== null) ? files.reduce((sum, f) => sum + f.bytes!, 0) : null;
    const parts: string[] = [];
    let before = 0;
    reporter.start(`${spec.kind} ${spec.id}`, total);
    try {
      for (const file of files) {
        parts.push(
          await downloadFile({
            url: file.url,
            dest: join(partsDir, spec.kind, file.path),
            bytes: file.bytes,
            checksum: file.checksum,
            connectTimeoutMs,
            stallTimeoutMs,
            signal,
            fetch: o.fetch,
            onProgress: (received) => reporter.update(before + received, total),
          }),
        );
        before += file.bytes ?? 0;
      }
    } finally {
      reporter.stop();
    }
    await install(spec, files.map((f, i) => ({ path: f.path, part: parts[i]! })));
  };

  /** Puts the verified parts in place: built in a folder beside the target, checked, then renamed into it. */
  const install = async (spec: ModelSpec, parts: { path: string; part: string }[]) => {
    const staging = join(modelsDir, ".incoming", `${spec.kind}-${randomBytes(4).toString("hex")}`);
    mkdirSync(staging, { recursive: true });
    try {
      let built: string;
      if (spec.archive) {
        await extractTarBz2(parts[0]!.part, staging);
        built = join(staging, spec.archive.root);
        if (!existsSync(built)) throw new Error(`the archive holds no ${spec.archive.root}/ folder`);
        for (const drop of spec.archive.drop) rmSync(join(built, drop), { recursive: true, force: true });
      } else {
        built = join(staging, "model");
        for (const { path, part } of parts) {
          mkdirSync(dirname(join(built, path)), { recursive: true });
          renameSync(part, join(built, path));
        }
      }
      const missing = spec.required.filter((f) => !existsSync(join(built, f)));
      if (missing.length) throw new Error(`the download lacks ${missing.join(", ")}`);
      const target = join(modelsDir, spec.dir);
      mkdirSync(dirname(target), { recursive: true });
      // An incomplete folder left where the model goes (the loader passed it over) moves aside first.
      if (existsSync(target)) renameSync(target, join(staging, "replaced"));
      renameSync(built, target);
      for (const { part } of parts) if (existsSync(part)) unlinkSync(part);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  };

  /** Fetches every missing model of `only` (default: all); never throws for a model that fails, it reports it. */
  const pull = async ({ only, signal }: { only?: ModelKind[]; signal?: AbortSignal } = {}): Promise<PullResult> => {
    const result: PullResult = { installed: [], failed: [], unreachable: [] };
    const missing = list().filter((s) => !s.present && (!only || only.includes(s.spec.kind)));
    if (!missing.length) return result;
    const named = (models: ModelStatus[]) => models.map((s) => `${s.spec.kind} ${s.spec.id}`).join(", ");
    const fallbacks = (models: ModelStatus[]) => models.map((s) => FALLBACKS[s.spec.kind]).join(", ");

    // A read-only MODELS_DIR (a mounted volume, an image's /models) is one line, not a failure per model.
    try {
      mkdirSync(partsDir, { recursive: true });
      accessSync(modelsDir, constants.W_OK);
    } catch (error) {
      const reason = `cannot write to ${modelsDir}: ${(error as Error).message}`;
      log.warn(`models: ${reason}; not fetching ${named(missing)}; running on ${fallbacks(missing)}`);
      result.failed = missing.map((s) => ({ kind: s.spec.kind, reason }));
      return result;
    }

    const origins = [...new Set(missing.flatMap((s) => s.spec.files.map((f) => new URL(f.url).origin)))];
    const probes = await Promise.all(origins.map(async (origin) => ({ origin, problem: await reachable(origin, signal) })));
    const down = probes.filter((p) => p.problem);
    result.unreachable = down.map((p) => p.origin);
    const cut = missing.filter((s) => s.spec.files.some((f) => result.unreachable.includes(new URL(f.url).origin)));
    if (cut.length) {
      log.warn(
        `models: cannot reach ${down.map((p) => `${p.origin} (${p.problem})`).join(", ")}; not fetching ${named(cut)}; running on ${fallbacks(cut)} (\`bun run models pull\` fetches them later; MODELS_AUTO_DOWNLOAD=false stops trying at start)`,
      );
    }

    const resolved: Resolved[] = [];
    for (const { spec } of missing.filter((s) => !cut.includes(s))) {
      try {
        resolved.push(await resolve(spec, signal));
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        result.failed.push({ kind: spec.kind, reason: (error as Error).message });
        log.warn(`models: not fetching ${spec.kind} ${spec.id}: ${(error as Error).message}; running on ${FALLBACKS[spec.kind]}`);
      }
    }
    for (const { spec, files } of resolved) {
      const size = files.every((f) => f.bytes !== null) ? megabytes(files.reduce((sum, f) => sum + f.bytes!, 0)) : "size unknown";
      log.info(`models: fetching ${spec.kind} ${spec.id} (${size}, ${files.length} file${files.length === 1 ? "" : "s"}) from ${spec.source} into ${join(modelsDir, spec.dir)}`);
    }

    for (const model of resolved) {
      const { spec } = model;
      try {
        await fetchAndInstall(model, signal);
        log.info(`models: installed ${spec.kind} ${spec.id} in ${join(modelsDir, spec.dir)}`);
        result.installed.push(spec.kind);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        const message = (error as Error).message;
        // A corrupt file was deleted and starts over; anything else left its part, which the next attempt resumes.
        const reason = error instanceof ChecksumMismatchError ? message : `${message}; the next attempt resumes it`;
        result.failed.push({ kind: spec.kind, reason });
        log.warn(`models: ${spec.kind} ${spec.id} not installed: ${reason}; running on ${FALLBACKS[spec.kind]}`);
        continue;
      }
      try {
        await o.onInstalled?.(spec);
      } catch (error) {
        log.warn(`models: ${spec.kind} ${spec.id} is installed but could not be switched to: ${(error as Error).message}; it is used from the next start`);
      }
    }
    return result;
  };

  return { list, pull };
}

export type ModelManager = ReturnType<typeof createModelManager>;

/** Fetches the missing models in the background; `stop()` cuts a download short (its part stays, to resume). */
export function startModelDownloads(manager: ModelManager, log: Logger) {
  const controller = new AbortController();
  const done = manager.pull({ signal: controller.signal }).catch((error) => {
    if (!controller.signal.aborted) log.warn(`models: fetching stopped: ${(error as Error).message}`);
    return null;
  });
  return {
    done,
    async stop() {
      controller.abort(new Error("the server is stopping"));
      await done;
    },
  };
}

/**
 * Debian's `tar` with `bzip2` in another process: the archives are 20–120 MB, and a JavaScript bzip2 decoder on the
 * server's own thread would hold up every request for seconds; the native one runs beside it.
 */
async function extractTarBz2(archive: string, into: string) {
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(["tar", "-xjf", archive, "-C", into, "--no-same-owner"], { stdout: "ignore", stderr: "pipe" });
  } catch {
    throw new Error("extracting the archive needs tar (apt-get install tar bzip2)");
  }
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr as ReadableStream).text()]);
  if (code !== 0) throw new Error(`tar -xjf failed (${stderr.trim().split("\n")[0] || `exit ${code}`}); extracting needs tar and bzip2 (apt-get install bzip2)`);
}

function sizeOnDisk(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOnDisk(join(path, name)), 0);
}
