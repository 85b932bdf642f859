// The ReDoS analysis, off the main thread: recheck's pure-JavaScript checker can take seconds on a hard pattern.
// The pure backend keeps it in this thread (its default would start yet another worker, or a native child process).
import { parentPort } from "node:worker_threads";

process.env.RECHECK_SYNC_BACKEND = "pure";
const { checkSync } = await import("recheck");

parentPort!.on("message", ({ id, source, flags, timeoutMs }: { id: number; source: string; flags: string; timeoutMs: number }) => {
  // A fixed seed makes the fuzzing half of the checker answer the same for the same pattern.
  const d = checkSync(source, flags, { timeout: timeoutMs, randomSeed: 0 });
  const verdict =
    d.status === "vulnerable"
      ? { status: d.status, complexity: d.complexity.type, attack: d.attack.pattern }
      : d.status === "unknown"
        ? { status: d.status, error: d.error.kind }
        : { status: d.status };
  parentPort!.postMessage({ id, verdict });
});
