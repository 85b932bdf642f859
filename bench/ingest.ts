// API latency while a large knowledge source is ingested, beside the same API idle in the same run (its ceiling).
// Starts the appliance as its own process (`bun src/main.ts`; the embedded store in a fresh DATA_DIR, or Postgres when
// DATABASE_URL is set) and probes `GET /api/v1/agents?limit=1` one request at a time: BENCH_IDLE_SECONDS with nothing
// else running, then while a generated plain-text file (BENCH_MB, default 5 MB, ~650-character paragraphs) is
// uploaded, then from the moment a file source for it is created until it is indexed. Prints p50 / p99 / max of each
// phase, the passages and the ingestion rate. The probe is in this process, the server in its own, so a stalled server shows as latency here.
// Usage: bun bench/ingest.ts   (about a minute at 5 MB on the embedded store)
import type { Subprocess } from "bun";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const MB = Number(process.env.BENCH_MB ?? 5);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const PROBE_GAP_MS = 10;
const BUDGET_P99_MS = 100;
const REPO = join(import.meta.dir, "..");

let seed = 20261207;
const random = () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 2246822507) + 0x9e3779b9) | 0;
  return (seed >>> 0) / 4294967296;
};
const WORDS = (
  "account address appointment bill booking cancel card change charge clinic contact cost customer date delivery device email fee " +
  "form help hours insurance invoice issue login member office online open order password payment phone plan policy price refund " +
  "repair reset return schedule service shipping support team time visit warranty week weekend"
).split(" ");
function document(bytes: number): string {
  const paragraphs: string[] = [];
  let size = 0;
  while (size < bytes) {
    let p = "";
    while (p.length < 650) p += `${Array.from({ length: 6 + Math.floor(random() * 10) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ")}. `;
    paragraphs.push(p.trim());
    size += p.length + 2;
  }
  return paragraphs.join("\n\n");
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const summary = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: pct(s, 50), p99: pct(s, 99), max: s[s.length - 1]! };
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "flowyte-bench-ingest-"));
  const adminKey = `flowyte_sk_live_${randomBytes(32).toString("hex")}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server: Subprocess | null = null;
  const cleanup = () => {
    server?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    server = Bun.spawn([process.execPath, "src/main.ts"], {
      cwd: REPO,
      env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: join(dir, "data"), FLOWYTE_ADMIN_KEY: adminKey, MASTER_KEY: randomBytes(32).toString("hex"), LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "0", MODELS_AUTO_DOWNLOAD: "false" },
      stdout: "inherit",
      stderr: "inherit",
    });
    const deadline = Date.now() + 90_000;
    while (!(await fetch(`${base}/health`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error("the server did not answer /health within 90 s");
      await Bun.sleep(200);
    }
    const headers = { authorization: `Bearer ${adminKey}` };
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, { method, headers: { ...headers, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = (await res.json()) as any;
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
      return json.data;
    };
    const agent = await api("POST", "/api/v1/agents", { name: "Bench desk" });
    const probe = async () => {
      const t0 = performance.now();
      const res = await fetch(`${base}/api/v1/agents?limit=1`, { headers });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`GET /agents answered ${res.status}`);
      return performance.now() - t0;
    };
    for (let i = 0; i < 50; i++) await probe();

    const idle: number[] = [];
    const idleEnd = performance.now() + IDLE_SECONDS * 1000;
    while (performance.now() < idleEnd) {
      idle.push(await probe());
      await Bun.sleep(PROBE_GAP_MS);
    }

    // The upload itself (the ingesting tenant's request) is probed too: its bytes are written while others wait their turn.
    const text = document(MB * 1024 * 1024);
    const form = new FormData();
    form.append("file", new File([text], "manual.txt", { type: "text/plain" }));
    const uploading: number[] = [];
    let uploaded = false;
    const uploadDone = fetch(`${base}/api/v1/uploads`, { method: "POST", headers, body: form })
      .then((res) => res.json() as Promise<any>)
      .finally(() => {
        uploaded = true;
      });
    while (!uploaded) {
      uploading.push(await probe());
      await Bun.sleep(PROBE_GAP_MS);
    }
    const upload = await uploadDone;
    if (!upload.data) throw new Error(`POST /uploads answered ${JSON.stringify(upload)}`);

    const during: number[] = [];
    const at: number[] = [];
    const started = performance.now();
    const source = await api("POST", `/api/v1/agents/${agent.id}/knowledge/sources`, { kind: "file", label: "Manual", file_id: upload.data.file_id });
    let done: any = null;
    let lastCheck = 0;
    while (!done) {
      at.push((performance.now() - started) / 1000);
      during.push(await probe());
      if (performance.now() - lastCheck > 250) {
        lastCheck = performance.now();
        // The list: the source alone would carry its whole extracted text every time.
        const s = ((await api("GET", `/api/v1/agents/${agent.id}/knowledge/sources`)) as any[]).find((x) => x.id === source.id);
        if (s.status === "indexed" || s.status === "error") done = s;
      }
      await Bun.sleep(PROBE_GAP_MS);
    }
    const seconds = (performance.now() - started) / 1000;
    if (done.status !== "indexed") throw new Error(`the source ended in ${done.status}: ${done.errorMessage}`);

    const a = summary(idle);
    const u = summary(uploading);
    const b = summary(during);
    const f = (n: number) => n.toFixed(1).padStart(8);
    console.log(`\nstore: ${process.env.DATABASE_URL ? "postgres" : "pglite"}; ${MB} MB plain text, ${done.chunkCount.toLocaleString("en-US")} passages in ${seconds.toFixed(1)} s (${Math.round(done.chunkCount / seconds)} passages/s)`);
    console.log(`GET /api/v1/agents?limit=1, one request at a time  requests    p50 ms    p99 ms    max ms`);
    console.log(`  idle (ceiling)                                  ${String(a.n).padStart(8)}${f(a.p50)}  ${f(a.p99)}  ${f(a.max)}`);
    console.log(`  during the upload (POST /uploads, ${MB} MB)          ${String(u.n).padStart(8)}${f(u.p50)}  ${f(u.p99)}  ${f(u.max)}`);
    console.log(`  during the ingestion                            ${String(b.n).padStart(8)}${f(b.p50)}  ${f(b.p99)}  ${f(b.max)}`);
    const slowest = during.map((ms, i) => ({ ms, at: at[i]! })).sort((x, y) => y.ms - x.ms).slice(0, 5);
    console.log(`  slowest during: ${slowest.map((x) => `${x.ms.toFixed(0)} ms at ${x.at.toFixed(1)} s`).join(", ")}`);
    console.log(`budget: p99 during ingestion < ${BUDGET_P99_MS} ms: ${b.p99 < BUDGET_P99_MS ? "PASS" : "MISS"}`);
  } finally {
    cleanup();
  }
}

await main();
