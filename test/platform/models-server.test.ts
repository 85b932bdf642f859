// `bun start` (the server as its own process) fetching the default models against the stand-in model hosts: the
// server answers while a model downloads and on its fallbacks; MODELS_AUTO_DOWNLOAD=false fetches nothing; and the
// `bun run models` CLI. Nothing here reaches the internet.
import { afterAll, afterEach, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ModelHostStandIn, startModelHost } from "../support/model-host-stand-in.ts";
import { type ServerProcess, startServerProcess } from "../support/server-process.ts";
import { until } from "../support/until.ts";

const root = mkdtempSync(join(tmpdir(), "flowyte-models-server-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const repo = join(import.meta.dir, "../..");

const EMBEDDING = "/onnx-community/all-MiniLM-L6-v2-ONNX/resolve/main";
const text = (s: string) => new TextEncoder().encode(s);

/** The embedding model's files on the stand-in (not a loadable model: the ONNX file is random bytes). */
function hostEmbeddingModel(host: ModelHostStandIn, model: Parameters<ModelHostStandIn["host"]>[1] = { bytes: new Uint8Array(randomBytes(300_000)), lfs: true }) {
  host.host(`${EMBEDDING}/config.json`, { bytes: text(JSON.stringify({ hidden_size: 384 })) });
  for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) host.host(`${EMBEDDING}/${f}`, { bytes: text("{}") });
  host.host(`${EMBEDDING}/onnx/model.onnx`, model);
}

let host: ModelHostStandIn;
let server: ServerProcess | null = null;
afterEach(async () => {
  host?.stop();
  if (server) {
    server.signal("SIGKILL");
    await server.exited;
    server = null;
  }
});

const modelEnv = (modelsDir: string, autoDownload: string) => ({
  MODELS_DIR: modelsDir,
  MODELS_AUTO_DOWNLOAD: autoDownload,
  MODELS_HF_BASE_URL: host.url,
  MODELS_GITHUB_BASE_URL: host.url,
});

describe("bun start with models missing", () => {
  it("answers requests while a model downloads, installs it, and stays on its fallback when it cannot load", async () => {
    host = startModelHost();
    hostEmbeddingModel(host, { bytes: new Uint8Array(randomBytes(300_000)), lfs: true, holdAt: 100_000 });
    const modelsDir = mkdtempSync(join(root, "models-"));
    server = await startServerProcess(mkdtempSync(join(root, "data-")), { env: modelEnv(modelsDir, "true") });
    const url = await server.ready;
    expect(url).not.toBeNull();

    await host.held;
    // The download is under way, held by the stand-in: the server answers meanwhile, on the hashing embedder.
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const log = server.log();
    expect(log).toContain(`models: fetching embeddings onnx-community/all-MiniLM-L6-v2-ONNX (0.3 MB, 5 files) from ${host.url}/onnx-community/all-MiniLM-L6-v2-ONNX into ${modelsDir}/embeddings/onnx-community/all-MiniLM-L6-v2-ONNX`);
    expect(log).toContain("knowledge embeddings: hashing fallback");
    expect(log).toContain("models: fetching whisper sherpa-onnx-whisper-tiny (116.2 MB, 1 file)");
    await until(() => server!.log().includes("models: embeddings onnx-community/all-MiniLM-L6-v2-ONNX: 30%"));
    expect(server.log()).not.toContain("embeddings onnx-community/all-MiniLM-L6-v2-ONNX: 40%");

    host.release();
    await until(() => server!.log().includes("models: installed embeddings onnx-community/all-MiniLM-L6-v2-ONNX"));
    expect(server.log()).toContain("models: embeddings onnx-community/all-MiniLM-L6-v2-ONNX: 100%");
    // The release archives are not on the stand-in: each says so once and its fallback stays.
    await until(() => /models: piper en_US-kristin-medium-int8 not installed: .*answered HTTP 404.*running on espeak-ng voices/.test(server!.log()));
    expect(server.log()).toMatch(/models: whisper sherpa-onnx-whisper-tiny not installed: .*answered HTTP 404.*running on no speech recognizer/);
    expect(existsSync(join(modelsDir, "embeddings/onnx-community/all-MiniLM-L6-v2-ONNX/onnx/model.onnx"))).toBe(true);
    // Random bytes are no ONNX model: tried before it takes over, it leaves the hashing embedder in place.
    await until(() => server!.log().includes("models: embeddings onnx-community/all-MiniLM-L6-v2-ONNX is installed but could not be switched to"));
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it("fetches nothing with MODELS_AUTO_DOWNLOAD=false", async () => {
    host = startModelHost();
    hostEmbeddingModel(host);
    const modelsDir = mkdtempSync(join(root, "models-"));
    server = await startServerProcess(mkdtempSync(join(root, "data-")), { env: modelEnv(modelsDir, "false") });
    const url = await server.ready;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    server.signal("SIGTERM");
    expect(await server.exited).toBe(0);
    server = null;
    expect(host.requests).toEqual([]);
    expect(existsSync(join(modelsDir, "embeddings"))).toBe(false);
  });
});

describe("bun run models", () => {
  // Not spawnSync: the stand-in answers from this process, which must stay free while the CLI runs.
  const run = async (args: string[], env: Record<string, string>) => {
    const proc = Bun.spawn(["bun", "run", "models", ...args], { cwd: repo, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { code, out, err };
  };

  it("pulls only what --only names, exits 0, and lists it as present", async () => {
    host = startModelHost();
    hostEmbeddingModel(host);
    const modelsDir = mkdtempSync(join(root, "models-"));
    const env = modelEnv(modelsDir, "false");
    const before = await run(["list"], env);
    expect(before.code).toBe(0);
    expect(before.out).toMatch(/^embeddings\s+onnx-community\/all-MiniLM-L6-v2-ONNX\s+missing/m);
    expect(before.out).toMatch(/^whisper\s+sherpa-onnx-whisper-tiny\s+missing\s+116\.2 MB/m);

    const pull = await run(["pull", "--only", "embeddings"], env);
    expect(pull.code).toBe(0);
    expect(pull.err).toContain("models: installed embeddings onnx-community/all-MiniLM-L6-v2-ONNX");
    expect(host.requests.some((r) => r.path.includes("/releases/"))).toBe(false);
    expect((await run(["list"], env)).out).toMatch(/^embeddings\s+onnx-community\/all-MiniLM-L6-v2-ONNX\s+present\s+0\.3 MB/m);
  });

  // util-linux's `script` gives the CLI a pseudo-terminal, where progress is a bar instead of lines.
  const noScript = Bun.which("script") ? null : "util-linux script is not installed";
  it.skipIf(noScript !== null)("draws a progress bar on a terminal", async () => {
    host = startModelHost();
    hostEmbeddingModel(host);
    const modelsDir = mkdtempSync(join(root, "models-"));
    const env = Object.entries(modelEnv(modelsDir, "false")).map(([k, v]) => `${k}=${v}`);
    const proc = Bun.spawn(["script", "-qec", ["env", ...env, "bun", "run", "models", "pull", "--only", "embeddings"].join(" "), "/dev/null"], { cwd: repo, stdout: "pipe", stderr: "pipe" });
    const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    expect(code).toBe(0);
    expect(out).toMatch(/embeddings onnx-community\/all-MiniLM-L6-v2-ONNX \[=+\] 100% \| 0\.3 MB of 0\.3 MB/);
    expect(out).not.toContain("onnx-community/all-MiniLM-L6-v2-ONNX: 10%");
    expect(existsSync(join(modelsDir, "embeddings/onnx-community/all-MiniLM-L6-v2-ONNX/onnx/model.onnx"))).toBe(true);
  });

  it("exits 1 when a host cannot be reached, and 2 on a wrong --only", async () => {
    host = startModelHost();
    const closed = Bun.serve({ port: 0, fetch: () => new Response() });
    const refused = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    const modelsDir = mkdtempSync(join(root, "models-"));
    const pull = await run(["pull"], { MODELS_DIR: modelsDir, MODELS_HF_BASE_URL: refused, MODELS_GITHUB_BASE_URL: refused });
    expect(pull.code).toBe(1);
    expect(pull.err).toContain(`models: cannot reach ${refused}`);
    const wrong = await run(["pull", "--only", "llm"], { MODELS_DIR: modelsDir });
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain("--only takes embeddings, whisper, piper separated by commas (not llm)");
  });
});
