// The three embedders and the choice between them. Nothing here reaches the network: fetch is refused except to
// 127.0.0.1, where a stand-in embeddings server follows the OpenAI API (POST /v1/embeddings → { data: [{ index, embedding }] }).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEmbedder,
  createHashingEmbedder,
  createLocalEmbedder,
  createOpenAiCompatibleEmbedder,
  DEFAULT_LOCAL_MODEL,
  EmbeddingServerError,
  loadFeatureExtractor,
  LocalModelMissingError,
} from "../../src/knowledge/embedders/index.ts";
import { createLogger } from "../../src/platform/log.ts";

/**
 * Writes a tiny transformers.js feature-extraction model into `modelsDir` under the default model's id: a
 * BERT-shaped ONNX graph (last_hidden_state = Gather(embedding table, input_ids), 8 dimensions), a WordLevel
 * tokenizer over a dozen words, and the config files. Real sentence-embedding weights ship in no package here,
 * so this is what lets the real loading path run: file layout, ONNX Runtime, tokenizer, mean pooling, normalizing.
 * In its table "bill", "pay" and "invoice" sit close together, as do "park", "car" and "parking".
 */
function writeTinyModel(modelsDir: string): string {
  const varint = (n: number) => {
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n = Math.floor(n / 128);
    } while (n);
    return out;
  };
  // Protocol Buffers wire format: varint fields (wire type 0) and length-delimited ones (wire type 2).
  const int = (field: number, n: number) => [...varint(field << 3), ...varint(n)];
  const bytes = (field: number, b: ArrayLike<number>) => [...varint((field << 3) | 2), ...varint(b.length), ...Array.from(b)];
  const str = (field: number, s: string) => bytes(field, new TextEncoder().encode(s));
  const dim = (d: number | string) => (typeof d === "number" ? int(1, d) : str(2, d));
  const INT64 = 7;
  const FLOAT = 1;
  const valueInfo = (name: string, type: number, dims: (number | string)[]) => [...str(1, name), ...bytes(2, bytes(1, [...int(1, type), ...bytes(2, dims.flatMap((d) => bytes(1, dim(d))))]))];

  const vocab = ["[PAD]", "[UNK]", "parking", "park", "car", "clinic", "open", "hours", "friday", "invoice", "bill", "pay"];
  const D = 8;
  const table = new Float32Array(vocab.length * D).map((_, k) => Math.sin((Math.floor(k / D) + 1) * ((k % D) + 1)));
  for (const [word, near] of [[3, 2], [4, 2], [10, 9], [11, 9]] as const) for (let j = 0; j < D; j++) table[word * D + j] = table[near * D + j]! + 0.1 * Math.cos(word + j);

  // ModelProto { ir_version 8, graph, opset_import { domain "", version 13 } }; TensorProto raw_data is little-endian.
  const initializer = [...int(1, vocab.length), ...int(1, D), ...int(2, FLOAT), ...str(8, "embeddings"), ...bytes(9, new Uint8Array(table.buffer))];
  const gather = [...str(1, "embeddings"), ...str(1, "input_ids"), ...str(2, "last_hidden_state"), ...str(3, "gather"), ...str(4, "Gather")];
  const graph = [
    ...bytes(1, gather),
    ...str(2, "tiny"),
    ...bytes(5, initializer),
    ...bytes(11, valueInfo("input_ids", INT64, ["batch", "sequence"])),
    ...bytes(11, valueInfo("attention_mask", INT64, ["batch", "sequence"])),
    ...bytes(12, valueInfo("last_hidden_state", FLOAT, ["batch", "sequence", D])),
  ];
  const model = [...int(1, 8), ...str(2, "flowyte-test"), ...bytes(7, graph), ...bytes(8, [...str(1, ""), ...int(2, 13)])];

  const dir = join(modelsDir, "embeddings", DEFAULT_LOCAL_MODEL);
  mkdirSync(join(dir, "onnx"), { recursive: true });
  writeFileSync(join(dir, "onnx", "model.onnx"), new Uint8Array(model));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: D }));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "BertTokenizer", model_max_length: 32, pad_token: "[PAD]", unk_token: "[UNK]" }));
  const special = (id: number, content: string) => ({ id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
  writeFileSync(
    join(dir, "tokenizer.json"),
    JSON.stringify({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [special(0, "[PAD]"), special(1, "[UNK]")],
      normalizer: { type: "Lowercase" },
      pre_tokenizer: { type: "Whitespace" },
      post_processor: null,
      decoder: null,
      model: { type: "WordLevel", vocab: Object.fromEntries(vocab.map((w, i) => [w, i])), unk_token: "[UNK]" },
    }),
  );
  return dir;
}

const cosine = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const norm = (v: number[]) => Math.hypot(...v);

const realFetch = globalThis.fetch;
const offNetworkFetch = ((input: RequestInfo | URL, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.hostname !== "127.0.0.1") return Promise.reject(new Error(`test tried to reach ${url.href}`));
  return realFetch(input, init);
}) as typeof fetch;
beforeEach(() => {
  globalThis.fetch = offNetworkFetch;
});
afterEach(() => {
  globalThis.fetch = realFetch;
});

function capturingLog() {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", (l) => lines.push(l)) };
}

describe("hashing embedder", () => {
  const embedder = createHashingEmbedder();

  it("gives the same unit vector for the same text, from any instance", async () => {
    const [a] = await embedder.embed(["How do I reset my password?"]);
    const [b] = await createHashingEmbedder().embed(["How do I reset my password?"]);
    expect(a).toEqual(b!);
    expect(a).toHaveLength(384);
    expect(embedder.dimensions).toBe(384);
    expect(norm(a!)).toBeCloseTo(1, 10);
    expect(embedder.model).toBe("hashing-384-v2");
  });

  it("places rephrasings and inflections closer than unrelated text", async () => {
    const [question, answer, inflected, unrelated] = await embedder.embed([
      "How do I reset my password?",
      "To reset your password, open Settings and choose Reset password.",
      "Resetting passwords",
      "The clinic opens at 8 am on weekdays and closes at noon on Saturdays.",
    ]);
    expect(cosine(question!, answer!)).toBeGreaterThan(cosine(question!, unrelated!) + 0.3);
    expect(cosine(question!, inflected!)).toBeGreaterThan(cosine(question!, unrelated!) + 0.3);
    expect(Math.abs(cosine(answer!, unrelated!))).toBeLessThan(0.3);
  });

  it("ignores case, accents and stop words", async () => {
    const [a, b] = await embedder.embed(["Café opening hours", "the CAFE opening HOURS"]);
    expect(cosine(a!, b!)).toBeCloseTo(1, 6);
  });
});

describe("OpenAI-compatible embedder", () => {
  let server: ReturnType<typeof Bun.serve>;
  let baseUrl: string;
  const requests: { authorization: string | null; body: { model: string; input: string[]; encoding_format?: string } }[] = [];
  let mode: "ok" | "fail" | "slow" = "ok";

  beforeAll(() => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const url = new URL(req.url);
        if (req.method !== "POST" || url.pathname !== "/v1/embeddings") return new Response("not found", { status: 404 });
        const body = (await req.json()) as { model: string; input: string[] };
        requests.push({ authorization: req.headers.get("authorization"), body });
        if (mode === "fail") return Response.json({ error: { message: "model not loaded", type: "server_error" } }, { status: 503 });
        if (mode === "slow") await Bun.sleep(500);
        // Unnormalized vectors (length 2 × …), listed in reverse order: the client must sort by index and normalize.
        const data = body.input.map((text, index) => ({ object: "embedding", index, embedding: [text.length, 1, 0, 2] }));
        return Response.json({ object: "list", model: body.model, data: data.reverse(), usage: { prompt_tokens: 1, total_tokens: 1 } });
      },
    });
    baseUrl = `http://127.0.0.1:${server.port}/v1`;
  });
  afterAll(() => server.stop(true));
  beforeEach(() => {
    requests.length = 0;
    mode = "ok";
  });

  it("posts batches to {baseUrl}/embeddings and returns unit vectors in input order", async () => {
    const embedder = createOpenAiCompatibleEmbedder({ baseUrl, apiKey: "sk-local", model: "nomic-embed-text", batchSize: 2 });
    expect(embedder.dimensions).toBe(0);
    const vectors = await embedder.embed(["a", "bbb", "cc", "", "eeeee"]);
    expect(requests.map((r) => r.body.input)).toEqual([["a", "bbb"], ["cc", " "], ["eeeee"]]);
    expect(requests[0]).toMatchObject({ authorization: "Bearer sk-local", body: { model: "nomic-embed-text", encoding_format: "float" } });
    expect(vectors.map((v) => Math.round(v[0]! / v[1]!))).toEqual([1, 3, 2, 1, 5]);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 10);
    expect(embedder.dimensions).toBe(4);
  });

  it("sends no Authorization header without a key", async () => {
    await createOpenAiCompatibleEmbedder({ baseUrl, apiKey: null, model: "m" }).embed(["x"]);
    expect(requests[0]!.authorization).toBeNull();
  });

  it("reports the server's error status and message", async () => {
    mode = "fail";
    const embedder = createOpenAiCompatibleEmbedder({ baseUrl, apiKey: null, model: "m" });
    const failure = embedder.embed(["x"]);
    await expect(failure).rejects.toBeInstanceOf(EmbeddingServerError);
    await expect(failure).rejects.toThrow(/answered 503: .*model not loaded/);
  });

  it("gives up on a request after its timeout", async () => {
    mode = "slow";
    const embedder = createOpenAiCompatibleEmbedder({ baseUrl, apiKey: null, model: "m", timeoutMs: 50 });
    await expect(embedder.embed(["x"])).rejects.toThrow(/no answer within 50 ms/);
  });

  it("stops waiting when the caller's signal aborts, with the signal's reason", async () => {
    mode = "slow";
    const embedder = createOpenAiCompatibleEmbedder({ baseUrl, apiKey: null, model: "m" });
    const controller = new AbortController();
    const pending = embedder.embed(["x"], controller.signal);
    controller.abort(new Error("the turn is over"));
    await expect(pending).rejects.toThrow("the turn is over");
  });
});

describe("local transformers.js embedder", () => {
  let modelsDir: string;
  beforeEach(() => {
    modelsDir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
  });
  afterEach(() => rmSync(modelsDir, { recursive: true, force: true }));

  it("fails at once with the folder it looked in when MODELS_DIR holds no model", () => {
    const expected = join(modelsDir, "embeddings", DEFAULT_LOCAL_MODEL);
    expect(() => createLocalEmbedder(modelsDir)).toThrow(LocalModelMissingError);
    expect(() => createLocalEmbedder(modelsDir)).toThrow(`no embedding model in ${expected} (missing config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx)`);
  });

  it("names the files still missing from a partly copied model", () => {
    const dir = join(modelsDir, "embeddings", DEFAULT_LOCAL_MODEL);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), JSON.stringify({ hidden_size: 384 }));
    expect(() => createLocalEmbedder(modelsDir)).toThrow(/missing tokenizer\.json, tokenizer_config\.json, onnx\/model\.onnx/);
  });

  it("keeps transformers.js's own loader offline: it rejects naming the local path, without any download", async () => {
    const started = performance.now();
    const loading = loadFeatureExtractor(modelsDir, DEFAULT_LOCAL_MODEL);
    await expect(loading).rejects.toThrow(join(modelsDir, "embeddings", DEFAULT_LOCAL_MODEL, "config.json"));
    await expect(loading).rejects.toMatchObject({ name: "ModelFileNotFoundError" });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("runs a model found in MODELS_DIR through transformers.js, offline: unit vectors, mean-pooled over real tokens only", async () => {
    writeTinyModel(modelsDir);
    const embedder = createLocalEmbedder(modelsDir);
    expect(embedder).toMatchObject({ model: DEFAULT_LOCAL_MODEL, dimensions: 8 });
    const [bill, invoice, parking, alone, padded] = await embedder.embed(["pay my bill", "invoice", "parking", "car", "car park"]);
    for (const v of [bill, invoice, parking]) {
      expect(v).toHaveLength(8);
      expect(norm(v!)).toBeCloseTo(1, 6);
    }
    expect(cosine(bill!, invoice!)).toBeGreaterThan(cosine(bill!, parking!) + 0.3);
    // Batched with a longer text, "car" is padded; the padding must not move its vector.
    const [sameCar] = await embedder.embed(["car"]);
    expect(cosine(alone!, sameCar!)).toBeCloseTo(1, 6);
    expect(cosine(padded!, parking!)).toBeGreaterThan(0.5);
  });

  it("createEmbedder picks the local model when its files are there, in one line", () => {
    writeTinyModel(modelsDir);
    const { lines, log } = capturingLog();
    const embedder = createEmbedder({ modelsDir, embeddings: null }, log);
    expect(embedder.model).toBe(DEFAULT_LOCAL_MODEL);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`INFO  knowledge embeddings: local model ${DEFAULT_LOCAL_MODEL} (8 dimensions)`);
  });

  it("createEmbedder falls back to hashing and says so in one line", () => {
    const { lines, log } = capturingLog();
    const embedder = createEmbedder({ modelsDir, embeddings: null }, log);
    expect(embedder.model).toBe("hashing-384-v2");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("WARN");
    expect(lines[0]).toContain("hashing fallback");
    expect(lines[0]).toContain(join(modelsDir, "embeddings", DEFAULT_LOCAL_MODEL));
  });

  it("createEmbedder prefers EMBEDDINGS_BASE_URL, in one line", () => {
    const { lines, log } = capturingLog();
    const embedder = createEmbedder({ modelsDir, embeddings: { baseUrl: "http://127.0.0.1:9/v1", apiKey: null, model: "nomic-embed-text", timeoutMs: 30_000 } }, log);
    expect(embedder.model).toBe("nomic-embed-text");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("OpenAI-compatible server http://127.0.0.1:9/v1");
  });
});
