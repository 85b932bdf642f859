// Model CLI: `bun run models list` says which default models MODELS_DIR holds; `bun run models pull [--only …]`
// fetches the missing ones in the foreground (what `bun start` does in the background), exit code 1 if any failed.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./platform/log.ts";
import { configuredManifest, createModelManager, MODEL_KINDS, type ModelKind, megabytes } from "./platform/models/index.ts";

const USAGE = `usage:
  bun run models list                                    the default models, present or missing, with their sizes
  bun run models pull [--only embeddings,whisper,piper]  fetch the missing ones into MODELS_DIR`;

const fail = (message: string): never => {
  console.error(message);
  process.exit(2);
};

const { values, positionals } = parseArgs({ args: process.argv.slice(2), options: { only: { type: "string" } }, allowPositionals: true });
const command = positionals.join(" ");
if (command !== "list" && command !== "pull") fail(USAGE);
let only: ModelKind[] | undefined;
if (values.only !== undefined) {
  const kinds = values.only.split(",").map((k) => k.trim()).filter(Boolean);
  const unknown = kinds.filter((k) => !MODEL_KINDS.includes(k as ModelKind));
  if (!kinds.length || unknown.length) fail(`--only takes ${MODEL_KINDS.join(", ")} separated by commas${unknown.length ? ` (not ${unknown.join(", ")})` : ""}`);
  only = kinds as ModelKind[];
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  fail(err instanceof ConfigError ? err.message : String(err));
}
const manager = createModelManager({ modelsDir: config!.modelsDir, manifest: configuredManifest(config!), log: createLogger("info") });

if (command === "list") {
  for (const { spec, present, bytes } of manager.list()) {
    const size = bytes === null ? "size given by the host" : megabytes(bytes);
    console.log(`${spec.kind.padEnd(11)} ${spec.id.padEnd(38)} ${present ? "present" : "missing"}  ${size.padEnd(10)} ${present ? join(config!.modelsDir, spec.kind) : spec.source}`);
  }
} else {
  const result = await manager.pull({ only });
  if (!result.installed.length && !result.failed.length && !result.unreachable.length) console.log(`every default model${only ? ` of ${only.join(", ")}` : ""} is in ${config!.modelsDir}`);
  process.exit(result.failed.length || result.unreachable.length ? 1 : 0);
}
