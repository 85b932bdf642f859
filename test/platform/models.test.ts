// The default models fetched into MODELS_DIR, against a stand-in laid out like huggingface.co and github.com releases
// (never the internet): progress, resume after a cut connection, a corrupt download, an unreachable host.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/platform/log.ts";
import { createModelManager, defaultManifest, lineReporter, type ModelSpec } from "../../src/platform/models/index.ts";
import { startHungServer } from "../support/hung-server.ts";
import { type ModelHostStandIn, startModelHost } from "../support/model-host-stand-in.ts";

const root = mkdtempSync(join(tmpdir(), "flowyte-models-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const EMBEDDING = "/onnx-community/all-MiniLM-L6-v2-ONNX/resolve/main";
const WHISPER = "/k2-fsa/sherpa-onnx/releases/download/asr-models/sherpa-onnx-whisper-tiny.tar.bz2";
const PIPER = "/k2-fsa/sherpa-onnx/releases/download/tts-models/vits-piper-en_US-kristin-medium-int8.tar.bz2";

/** A .tar.bz2 holding `folder/` with `files` (random bytes where a size is given, so bzip2 cannot shrink them). */
function archive(folder: string, files: Record<string, string | number>): Uint8Array {
  const dir = mkdtempSync(join(root, "archive-"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, folder, path, ".."), { recursive: true });
    writeFileSync(join(dir, folder, path), typeof content === "number" ? randomBytes(content) : content);
  }
  const out = join(dir, "out.tar.bz2");
  const tar = Bun.spawnSync(["tar", "-cjf", out, "-C", dir, folder]);
  if (tar.exitCode !== 0) throw new Error(tar.stderr.toString());
  return new Uint8Array(readFileSync(out));
}

let whisperArchive: Uint8Array;
let piperArchive: Uint8Array;
const embeddingFiles: Record<string, Uint8Array> = {};

beforeAll(() => {
  whisperArchive = archive("sherpa-onnx-whisper-tiny", {
    "tiny-encoder.int8.onnx": 200_000,
    "tiny-decoder.int8.onnx": 100_000,
    "tiny-tokens.txt": "a 0\nb 1\n",
    "tiny-encoder.onnx": 1000,
    "test_wavs/0.wav": 1000,
  });
  piperArchive = archive("vits-piper-en_US-kristin-medium-int8", { "en_US-kristin-medium.onnx": 50_000, "tokens.txt": "_ 0\n", "espeak-ng-data/phontab": 100 });
  const text = (s: string) => new TextEncoder().encode(s);
  Object.assign(embeddingFiles, {
    "config.json": text(JSON.stringify({ hidden_size: 384 })),
    "tokenizer.json": text("{}"),
    "tokenizer_config.json": text("{}"),
    "special_tokens_map.json": text("{}"),
    "onnx/model.onnx": new Uint8Array(randomBytes(400_000)),
  });
});

let host: ModelHostStandIn;
afterEach(() => host?.stop());

function hostEverything(overrides: { whisper?: Partial<Parameters<ModelHostStandIn["host"]>[1]>; model?: Partial<Parameters<ModelHostStandIn["host"]>[1]> } = {}) {
  host = startModelHost();
  for (const [path, bytes] of Object.entries(embeddingFiles)) host.host(`${EMBEDDING}/${path}`, { bytes, lfs: path.endsWith(".onnx"), ...(path.endsWith(".onnx") ? overrides.model : {}) });
  host.host(WHISPER, { bytes: whisperArchive, ...overrides.whisper });
  host.host(PIPER, { bytes: piperArchive });
}

/** The default manifest pointed at the stand-in, its pinned archive checksums swapped for the fakes' own. */
function manifest(): ModelSpec[] {
  const fakes: Record<string, Uint8Array> = { whisper: whisperArchive, piper: piperArchive };
  return defaultManifest({ language: "en", hfBaseUrl: host.url, githubBaseUrl: host.url }).map((spec) =>
    fakes[spec.kind] ? { ...spec, files: spec.files.map((f) => ({ ...f, bytes: fakes[spec.kind]!.length, sha256: createHash("sha256").update(fakes[spec.kind]!).digest("hex") })) } : spec,
  );
}

function manager(modelsDir: string, lines: string[], specs = manifest(), extra: Partial<Parameters<typeof createModelManager>[0]> = {}) {
  const log = createLogger("info", (l) => lines.push(l));
  return createModelManager({ modelsDir, manifest: specs, log, reporter: lineReporter(log), ...extra });
}

const fresh = () => mkdtempSync(join(root, "models-"));

describe("fetching the default models", () => {
  it("says what it fetches, from where and how big, reports progress in tenths, and installs each model where its loader looks", async () => {
    hostEverything();
    const dir = fresh();
    const lines: string[] = [];
    const result = await manager(dir, lines).pull();

    expect(result).toEqual({ installed: ["embeddings", "whisper", "piper"], failed: [], unreachable: [] });
    const fetching = lines.filter((l) => l.includes("models: fetching"));
    expect(fetching).toHaveLength(3);
    const modelBytes = Object.values(embeddingFiles).reduce((sum, b) => sum + b.length, 0);
    expect(fetching[0]).toContain(`fetching embeddings onnx-community/all-MiniLM-L6-v2-ONNX (${(modelBytes / 1e6).toFixed(1)} MB, 5 files) from ${host.url}/onnx-community/all-MiniLM-L6-v2-ONNX`);
    expect(fetching[1]).toContain(`fetching whisper sherpa-onnx-whisper-tiny (${(whisperArchive.length / 1e6).toFixed(1)} MB, 1 file) from ${host.url}${WHISPER}`);
    expect(fetching[2]).toContain(`fetching piper en_US-kristin-medium-int8`);
    // Every line about what is fetched comes before the first progress line.
    expect(lines.findIndex((l) => l.includes("%"))).toBeGreaterThan(lines.indexOf(fetching[2]!));
    const whisperProgress = lines.filter((l) => l.includes("models: whisper sherpa-onnx-whisper-tiny:")).map((l) => /: (\d+)%/.exec(l)![1]);
    expect(whisperProgress.at(-1)).toBe("100");
    expect(whisperProgress.length).toBeLessThanOrEqual(11);
    expect(lines.some((l) => l.includes("models: embeddings onnx-community/all-MiniLM-L6-v2-ONNX: 100%"))).toBe(true);

    const whisper = join(dir, "whisper/sherpa-onnx-whisper-tiny");
    expect(readdirSync(whisper).sort()).toEqual(["tiny-decoder.int8.onnx", "tiny-encoder.int8.onnx", "tiny-tokens.txt"]);
    expect(readdirSync(join(dir, "piper/en_US-kristin-medium-int8")).sort()).toEqual(["en_US-kristin-medium.onnx", "espeak-ng-data", "tokens.txt"]);
    expect(readFileSync(join(dir, "embeddings/onnx-community/all-MiniLM-L6-v2-ONNX/onnx/model.onnx")).equals(embeddingFiles["onnx/model.onnx"]!)).toBe(true);
    // Nothing half-done is left behind.
    expect(readdirSync(join(dir, ".downloads"), { recursive: true }).filter((f) => String(f).endsWith(".part"))).toEqual([]);
    expect(existsSync(join(dir, ".incoming")) ? readdirSync(join(dir, ".incoming")) : []).toEqual([]);

    // A second run finds them all and fetches nothing.
    const before = host.requests.length;
    expect(await manager(dir, []).pull()).toEqual({ installed: [], failed: [], unreachable: [] });
    expect(host.requests.length).toBe(before);
  });

  it("lists each model as present or missing with its size", async () => {
    hostEverything();
    const dir = fresh();
    const m = manager(dir, []);
    expect(m.list().map((s) => [s.spec.kind, s.present, s.bytes])).toEqual([
      ["embeddings", false, null],
      ["whisper", false, whisperArchive.length],
      ["piper", false, piperArchive.length],
    ]);
    await m.pull({ only: ["piper"] });
    const piper = m.list().find((s) => s.spec.kind === "piper")!;
    expect(piper.present).toBe(true);
    expect(piper.bytes).toBe(50_000 + "_ 0\n".length + 100);
    expect(m.list().filter((s) => s.present).map((s) => s.spec.kind)).toEqual(["piper"]);
  });

  it("resumes a download cut off midway with a Range request and installs the complete file", async () => {
    const half = Math.floor(whisperArchive.length / 2);
    hostEverything({ whisper: { cutAt: half } });
    const dir = fresh();
    const lines: string[] = [];
    const first = await manager(dir, lines).pull({ only: ["whisper"] });
    expect(first.installed).toEqual([]);
    expect(first.failed[0]!.reason).toContain("the next attempt resumes it");
    expect(lines.some((l) => l.includes("WARN  models: whisper sherpa-onnx-whisper-tiny not installed"))).toBe(true);
    const part = join(dir, ".downloads/whisper/sherpa-onnx-whisper-tiny.tar.bz2.part");
    expect(statSync(part).size).toBe(half);
    expect(existsSync(join(dir, "whisper"))).toBe(false);

    const second = await manager(dir, lines).pull({ only: ["whisper"] });
    expect(second.installed).toEqual(["whisper"]);
    const gets = host.requests.filter((r) => r.method === "GET" && r.path.endsWith("sherpa-onnx-whisper-tiny.tar.bz2"));
    expect(gets.at(-1)!.range).toBe(`bytes=${half}-`);
    expect(existsSync(part)).toBe(false);
    expect(statSync(join(dir, "whisper/sherpa-onnx-whisper-tiny/tiny-encoder.int8.onnx")).size).toBe(200_000);
  });

  it("deletes a download whose checksum does not match, says so, and installs nothing", async () => {
    hostEverything({ whisper: { corrupt: true }, model: { corrupt: true } });
    const dir = fresh();
    const lines: string[] = [];
    const result = await manager(dir, lines).pull({ only: ["whisper", "embeddings"] });
    expect(result.installed).toEqual([]);
    expect(result.failed.map((f) => f.kind).sort()).toEqual(["embeddings", "whisper"]);
    for (const failure of result.failed) expect(failure.reason).toMatch(/does not match its SHA-256 checksum \(expected [0-9a-f]{64}, got [0-9a-f]{64}\); the file was deleted/);
    expect(lines.filter((l) => l.includes("not installed") && l.includes("does not match"))).toHaveLength(2);
    expect(existsSync(join(dir, "whisper"))).toBe(false);
    expect(existsSync(join(dir, "embeddings"))).toBe(false);
    // The corrupt files are gone; the small files that did verify stay, for the next attempt to reuse.
    expect(readdirSync(join(dir, ".downloads"), { recursive: true }).filter((f) => String(f).endsWith(".tar.bz2.part") || String(f).endsWith("model.onnx.part"))).toEqual([]);
  });

  it("says in one line that an unreachable host leaves the fallbacks in place, without trying each model", async () => {
    const hung = await startHungServer();
    const closed = Bun.serve({ port: 0, fetch: () => new Response() });
    const refused = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    try {
      const dir = fresh();
      const lines: string[] = [];
      const specs = defaultManifest({ language: "en", hfBaseUrl: refused, githubBaseUrl: hung.url });
      const result = await manager(dir, lines, specs, { connectTimeoutMs: 300 }).pull();
      expect(result).toEqual({ installed: [], failed: [], unreachable: [refused, hung.url] });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`WARN  models: cannot reach ${refused} (`);
      expect(lines[0]).toContain(`${hung.url} (no answer within 0.3 s); not fetching embeddings onnx-community/all-MiniLM-L6-v2-ONNX, whisper sherpa-onnx-whisper-tiny, piper en_US-kristin-medium-int8; running on the hashing embedder, no speech recognizer`);
      expect(readdirSync(join(dir, ".downloads"))).toEqual([]);
      // One probe per host, no download attempted.
      expect(hung.connections).toBe(1);
    } finally {
      await hung.stop();
    }
  });

  it("says in one line that a MODELS_DIR it cannot write to leaves the fallbacks in place", async () => {
    hostEverything();
    const file = join(fresh(), "a-file");
    writeFileSync(file, "");
    const lines: string[] = [];
    const result = await manager(join(file, "models"), lines).pull();
    expect(result.installed).toEqual([]);
    expect(result.failed.map((f) => f.kind)).toEqual(["embeddings", "whisper", "piper"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`WARN  models: cannot write to ${join(file, "models")}: `);
    expect(lines[0]).toContain("; not fetching embeddings onnx-community/all-MiniLM-L6-v2-ONNX, whisper sherpa-onnx-whisper-tiny, piper en_US-kristin-medium-int8; running on the hashing embedder");
    expect(host.requests).toEqual([]);
  });

  it("fetches no Piper voice for a language it has none for, and the voice of the language otherwise", () => {
    const kinds = (language: string) => defaultManifest({ language, hfBaseUrl: "http://h", githubBaseUrl: "http://g" }).map((s) => `${s.kind}:${s.id}`);
    expect(kinds("ja")).toEqual(["embeddings:onnx-community/all-MiniLM-L6-v2-ONNX", "whisper:sherpa-onnx-whisper-tiny"]);
    expect(kinds("de")).toContain("piper:de_DE-thorsten-medium-int8");
    expect(kinds("pt-BR")).toContain("piper:pt_BR-faber-medium-int8");
    expect(kinds("de-AT")).toContain("piper:de_DE-thorsten-medium-int8");
  });
});
