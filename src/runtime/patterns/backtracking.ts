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
const GRACE_MS = 5000;
// The checker holds tens of megabytes; patterns arrive in bursts (an editor saving), so an idle worker is let go.
const IDLE_MS = 60_000;

const verdicts = new Map<string, Verdict>();
const CACHE_LIMIT = 1000;

type Job = { id: number; source: string; flags: string; deadline: number; resolve: (v: Verdict) => void };
let worker: Worker | null = null;
let running: (Job & { timer: ReturnType<typeof setTimeout>; cut: boolean }) | null = null;
const queue: Job[] = [];
let nextId = 0;
let idle: ReturnType<typeof setTimeout> | null = null;

/** `deadline` (epoch ms) bounds the wait in the queue and the analysis together; past it the answer is unknown. */
export async function analyseBacktracking(source: string, flags: string, deadline = Date.now() + ANALYSIS_TIMEOUT_MS): Promise<Verdict> {
  const key = `${flags}/${source}`;
  const cached = verdicts.get(key);
  if (cached) return cached;
  const verdict = await new Promise<Verdict>((resolve) => {
    queue.push({ id: nextId++, source, flags, deadline, resolve });
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
  const timeoutMs = Math.min(ANALYSIS_TIMEOUT_MS, job.deadline - Date.now());
  if (timeoutMs <= 0) {
    job.resolve({ status: "unknown", error: "out of time" });
    return pump();
  }
  const w = (worker ??= start());
  // The worker only keeps the process alive while it has work.
  w.ref();
  running = {
    ...job,
    // Cut short by the deadline: a timeout then says the request ran out of time, not that the pattern is hard.
    cut: timeoutMs < ANALYSIS_TIMEOUT_MS,
    timer: setTimeout(() => {
      stop();
      finish({ status: "unknown", error: "timeout" });
    }, timeoutMs + GRACE_MS),
  };
  w.postMessage({ id: job.id, source: job.source, flags: job.flags, timeoutMs });
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
  job.resolve(job.cut && verdict.status === "unknown" ? { status: "unknown", error: "out of time" } : verdict);
  pump();
}
