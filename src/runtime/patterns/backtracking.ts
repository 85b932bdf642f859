// Whether a pattern would backtrack catastrophically in a backtracking engine (JavaScript's own, most clients'):
// recheck's analysis (automaton-based, with fuzzing where the automaton is too large), run on one worker thread so
// a hard pattern never holds up requests. Verdicts are cached: the same patterns come back on every graph save.
import { Worker } from "node:worker_threads";

export type Verdict =
  | { status: "safe" }
  | { status: "vulnerable"; complexity: "polynomial" | "exponential"; attack: string }
  | { status: "unknown"; error: string };

/** How long the analysis of one pattern may take before the pattern is refused as unproven. */
export const ANALYSIS_TIMEOUT_MS = 5000;
// If the checker ignores its own timeout, the worker is ended this long after it.
const HARD_LIMIT_MS = ANALYSIS_TIMEOUT_MS + 5000;
// The checker holds tens of megabytes; patterns arrive in bursts (an editor saving), so an idle worker is let go.
const IDLE_MS = 60_000;

const verdicts = new Map<string, Verdict>();
const CACHE_LIMIT = 1000;

type Job = { id: number; source: string; flags: string; resolve: (v: Verdict) => void };
let worker: Worker | null = null;
let running: (Job & { timer: ReturnType<typeof setTimeout> }) | null = null;
const queue: Job[] = [];
let nextId = 0;
let idle: ReturnType<typeof setTimeout> | null = null;

export async function analyseBacktracking(source: string, flags: string): Promise<Verdict> {
  const key = `${flags}/${source}`;
  const cached = verdicts.get(key);
  if (cached) return cached;
  const verdict = await new Promise<Verdict>((resolve) => {
    queue.push({ id: nextId++, source, flags, resolve });
    pump();
  });
  // An unknown verdict may be the machine being busy: ask again next time.
  if (verdict.status !== "unknown") {
    if (verdicts.size >= CACHE_LIMIT) verdicts.delete(verdicts.keys().next().value!);
    verdicts.set(key, verdict);
  }
  return verdict;
}

function pump() {
  if (running) return;
  if (!queue.length) {
    if (worker) idle = setTimeout(stop, IDLE_MS).unref();
    return;
  }
  if (idle) clearTimeout(idle);
  idle = null;
  const job = queue.shift()!;
  const w = (worker ??= start());
  // The worker only keeps the process alive while it has work.
  w.ref();
  running = {
    ...job,
    timer: setTimeout(() => {
      stop();
      finish({ status: "unknown", error: "timeout" });
    }, HARD_LIMIT_MS),
  };
  w.postMessage({ id: job.id, source: job.source, flags: job.flags, timeoutMs: ANALYSIS_TIMEOUT_MS });
}

function start(): Worker {
  const w = new Worker(new URL("./backtracking-worker.ts", import.meta.url));
  w.on("message", ({ id, verdict }: { id: number; verdict: Verdict }) => {
    if (worker === w && running?.id === id) finish(verdict);
  });
  w.on("error", (error: Error) => {
    if (worker !== w) return;
    stop();
    finish({ status: "unknown", error: error.message || "worker failed" });
  });
  return w;
}

function stop() {
  void worker?.terminate();
  worker = null;
}

function finish(verdict: Verdict) {
  const job = running;
  if (!job) return;
  clearTimeout(job.timer);
  running = null;
  worker?.unref();
  job.resolve(verdict);
  pump();
}
