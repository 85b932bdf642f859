// A sentence-embedding model run in-process by transformers.js (ONNX Runtime), read from
// MODELS_DIR/embeddings/<model id>/ and never downloaded: remote models are switched off before anything loads.
// The default is onnx-community/all-MiniLM-L6-v2-ONNX (384 dimensions), the model the Dockerfile bakes in.
// The library is imported only when a model is really there, so a server without one never loads ONNX Runtime.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { normalize } from "./hashing.ts";
import type { Embedder } from "./types.ts";

export const DEFAULT_LOCAL_MODEL = "onnx-community/all-MiniLM-L6-v2-ONNX";
/** What transformers.js reads for a feature-extraction model with `dtype: "fp32"`. */
const REQUIRED_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"];

export class LocalModelMissingError extends Error {
  override name = "LocalModelMissingError";
}

type FeatureExtractor = (texts: string[], options: { pooling: "mean"; normalize: boolean }) => Promise<{ tolist(): number[][] }>;

/**
 * The embedder for `model` (default: the one the Dockerfile bakes, else the only model folder present).
 * Throws LocalModelMissingError, naming the folder and the missing files, when the model is not on disk.
 */
export function createLocalEmbedder(modelsDir: string, model = findLocalModel(modelsDir)): Embedder {
  const dir = join(modelsDir, "embeddings", model);
  const missing = REQUIRED_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new LocalModelMissingError(`no embedding model in ${dir} (missing ${missing.join(", ")})`);
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { hidden_size?: number };
  if (!Number.isInteger(config.hidden_size)) throw new LocalModelMissingError(`${join(dir, "config.json")} does not give hidden_size`);

  let extractor: Promise<FeatureExtractor> | null = null;
  return {
    model,
    dimensions: config.hidden_size!,
    async embed(texts) {
      if (!texts.length) return [];
      extractor ??= loadFeatureExtractor(modelsDir, model);
      const output = await (await extractor)(texts, { pooling: "mean", normalize: true });
      // transformers.js normalizes in float32; renormalize in double so stored vectors are unit length to 1e-6.
      return output.tolist().map(normalize);
    },
  };
}

/** transformers.js's own loader, held to the local folder; it rejects with ModelFileNotFoundError naming the path it tried. */
export async function loadFeatureExtractor(modelsDir: string, model: string): Promise<FeatureExtractor> {
  const { env, pipeline } = await import("@huggingface/transformers");
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = join(modelsDir, "embeddings") + "/";
  return (await pipeline("feature-extraction", model, { dtype: "fp32" })) as unknown as FeatureExtractor;
}

/** The default model's id when it is there; otherwise the one `<owner>/<name>` folder holding a config.json. */
function findLocalModel(modelsDir: string): string {
  const root = join(modelsDir, "embeddings");
  if (existsSync(join(root, DEFAULT_LOCAL_MODEL, "config.json"))) return DEFAULT_LOCAL_MODEL;
  const found: string[] = [];
  for (const owner of safeList(root)) for (const name of safeList(join(root, owner))) if (existsSync(join(root, owner, name, "config.json"))) found.push(`${owner}/${name}`);
  return found.length === 1 ? found[0]! : DEFAULT_LOCAL_MODEL;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}
