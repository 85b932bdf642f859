// The default models a fresh installation fetches into MODELS_DIR when they are missing, each with its public source.
// Checksums: the sherpa-onnx release archives (Whisper, Piper) are pinned here, SHA-256 and size as published for
// those exact files (see docs/models.md for where each value comes from); Hugging Face files are checked against the
// checksum the Hub itself publishes for them at download time (an LFS file's `X-Linked-Etag` is its SHA-256, a small
// file's `ETag` its git blob SHA-1), since the Hub serves `main` and pinning a moving branch would fail at its next commit.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../config.ts";

export const MODEL_KINDS = ["embeddings", "whisper", "piper"] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export interface ModelFile {
  /** Where it is fetched from. */
  url: string;
  /** Where it goes, relative to the model's folder (an archive: its name under the download folder). */
  path: string;
  /** Pinned size and SHA-256; null: read from the host's published checksum at download time. */
  bytes: number | null;
  sha256: string | null;
}

export interface ModelSpec {
  kind: ModelKind;
  /** The model's own name, as its source calls it. */
  id: string;
  /** Its public page, said in the log before anything is fetched. */
  source: string;
  /** Its folder under MODELS_DIR once installed. */
  dir: string;
  files: ModelFile[];
  /** A `.tar.bz2` release archive: the folder inside it that becomes `dir`, and what in it the server never reads. */
  archive: { root: string; drop: string[] } | null;
  /** Files `dir` must hold for the loader to take it (checked after extraction, before the model is installed). */
  required: string[];
}

/** What loads in place of each kind while it is missing (the existing fallbacks). */
export const FALLBACKS: Record<ModelKind, string> = {
  embeddings: "the hashing embedder",
  whisper: "no speech recognizer (calls understand the keypad only)",
  piper: "espeak-ng voices",
};

const EMBEDDING_MODEL = "onnx-community/all-MiniLM-L6-v2-ONNX";
const EMBEDDING_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "onnx/model.onnx"];

const WHISPER = { name: "sherpa-onnx-whisper-tiny", bytes: 116_204_861, sha256: "c46116994e539aa165266d96b325252728429c12535eb9d8b6a2b10f129e66b1" };

/**
 * One Piper voice per language: the sherpa-onnx int8 exports (about 21 MB each rather than 63 MB), whose published
 * checksums are known. A language missing here gets no Piper voice fetched; espeak-ng speaks it.
 */
const PIPER_VOICES: Record<string, { voice: string; bytes: number; sha256: string }> = {
  en: { voice: "en_US-kristin-medium-int8", bytes: 20_882_061, sha256: "16289d7ee8e6b2311a0a0af6531a55f498f82499644a1bb6fddb991fe6fa950c" },
  de: { voice: "de_DE-thorsten-medium-int8", bytes: 20_949_833, sha256: "07e240b7b9c1fc9211d5a69512f8cbe11b3286c2ed79c15c076ac6ed427fdf13" },
  es: { voice: "es_ES-sharvard-medium-int8", bytes: 23_477_120, sha256: "bf5507cbdedea650365bd6175b3164a8ecca5847533ddf97afcba9d76ea599d1" },
  fr: { voice: "fr_FR-siwis-medium-int8", bytes: 20_914_888, sha256: "3909cff9b3cfd4820c66aa13bf554315c82e34899c161f0b446ece372bc4b5ec" },
  it: { voice: "it_IT-paola-medium-int8", bytes: 21_143_212, sha256: "2b975ed305391c056944a4dde67ee754dd824099503a860295bb4c1d724662d8" },
  pt: { voice: "pt_PT-tugao-medium-int8", bytes: 21_253_211, sha256: "8f4c5e4a5994d0d1a2c10fb3035631add0460ea5c776f5ea40d3d6051140dbc3" },
  "pt-BR": { voice: "pt_BR-faber-medium-int8", bytes: 21_336_772, sha256: "05386120a50ee0c46e246bd0b9ad1c7b3116606b3f0c037db8ee4dd5dda712c5" },
  ru: { voice: "ru_RU-dmitri-medium-int8", bytes: 21_129_441, sha256: "7636793307f634ce54c6e65528a91a61683114f1a6635a08caf64ba6c54e6a63" },
};

export interface ManifestOptions {
  /** MODELS_LANGUAGE: the installation's primary language, which picks the Piper voice. */
  language: string;
  hfBaseUrl: string;
  githubBaseUrl: string;
}

/** The Piper voice fetched for `language` (exact tag first, then its primary subtag), or null when none is known. */
export function piperVoiceFor(language: string) {
  return PIPER_VOICES[language] ?? PIPER_VOICES[language.split("-")[0]!.toLowerCase()] ?? null;
}

export function defaultManifest({ language, hfBaseUrl, githubBaseUrl }: ManifestOptions): ModelSpec[] {
  const releases = `${githubBaseUrl}/k2-fsa/sherpa-onnx/releases/download`;
  const specs: ModelSpec[] = [
    {
      kind: "embeddings",
      id: EMBEDDING_MODEL,
      source: `${hfBaseUrl}/${EMBEDDING_MODEL}`,
      dir: `embeddings/${EMBEDDING_MODEL}`,
      files: EMBEDDING_FILES.map((path) => ({ url: `${hfBaseUrl}/${EMBEDDING_MODEL}/resolve/main/${path}`, path, bytes: null, sha256: null })),
      archive: null,
      required: EMBEDDING_FILES,
    },
    {
      kind: "whisper",
      id: WHISPER.name,
      source: `${releases}/asr-models/${WHISPER.name}.tar.bz2`,
      dir: `whisper/${WHISPER.name}`,
      files: [{ url: `${releases}/asr-models/${WHISPER.name}.tar.bz2`, path: `${WHISPER.name}.tar.bz2`, bytes: WHISPER.bytes, sha256: WHISPER.sha256 }],
      // The fp32 copies double the size and the loader takes the int8 ones; the test recordings are the authors'.
      archive: { root: WHISPER.name, drop: ["test_wavs", "tiny-encoder.onnx", "tiny-decoder.onnx"] },
      required: ["tiny-encoder.int8.onnx", "tiny-decoder.int8.onnx", "tiny-tokens.txt"],
    },
  ];
  const piper = piperVoiceFor(language);
  if (piper) {
    const archive = `vits-piper-${piper.voice}`;
    specs.push({
      kind: "piper",
      id: piper.voice,
      source: `${releases}/tts-models/${archive}.tar.bz2`,
      dir: `piper/${piper.voice}`,
      files: [{ url: `${releases}/tts-models/${archive}.tar.bz2`, path: `${archive}.tar.bz2`, bytes: piper.bytes, sha256: piper.sha256 }],
      archive: { root: archive, drop: ["test_wavs"] },
      required: ["tokens.txt", "espeak-ng-data"],
    });
  }
  return specs;
}

/** The default models, less those a configured server replaces (EMBEDDINGS_BASE_URL, SPEECH_BASE_URL). */
export function configuredManifest(config: Pick<Config, "models" | "embeddings" | "speech">): ModelSpec[] {
  return defaultManifest(config.models).filter((spec) => (spec.kind === "embeddings" ? !config.embeddings : !config.speech));
}

/**
 * Whether the loaders already find a model of this kind in `modelsDir` (not only this spec's): an operator's own
 * Whisper or Piper voice, or another embedding model folder, counts, so nothing is fetched over it.
 */
export function kindPresent(modelsDir: string, spec: ModelSpec): boolean {
  if (spec.required.every((f) => existsSync(join(modelsDir, spec.dir, f)))) return true;
  const root = join(modelsDir, spec.kind);
  if (spec.kind === "embeddings") return folders(root).some((owner) => folders(join(root, owner)).some((name) => existsSync(join(root, owner, name, "config.json")) && existsSync(join(root, owner, name, "onnx/model.onnx"))));
  if (spec.kind === "whisper") return [root, ...folders(root).map((f) => join(root, f))].some((dir) => files(dir).some((f) => f.endsWith("-tokens.txt")) && files(dir).some((f) => /-encoder(\.int8)?\.onnx$/.test(f)));
  return folders(root).some((f) => {
    const names = files(join(root, f));
    return names.includes("tokens.txt") && names.includes("espeak-ng-data") && names.some((n) => n.endsWith(".onnx"));
  });
}

function folders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith("."))
      .map((d) => d.name);
  } catch {
    return [];
  }
}

function files(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
