// Control-plane API benchmark: `bun bench/api.ts` (see bench/README.md).
//
// Starts the real appliance (`bun src/main.ts`) on the embedded store in a fresh temporary DATA_DIR, seeds
// agents, and loads three agent routes from a separate process (wrk when installed, otherwise a Bun load
// generator spawned from this same file). In the same run it loads a bare Elysia route in its own process
// the same way (the ceiling, measured before and after the routes) and prints each route's ratio to it,
// then the budget from ARCHITECTURE.md ("Budgets") with PASS/MISS. It reports, it does not judge: the exit
// code is 0 whatever the figures, non-zero only when something failed (a server would not start, crashed, …).
//
// Roles of this file (argv[2]): none = orchestrator; `ceiling` = the bare Elysia server; `loadgen` = the
// Bun load generator used when wrk is absent (or BENCH_LOADGEN=bun).
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

const HOST = "127.0.0.1"; // loopback only, for every server and every request

// ---------------------------------------------------------------------------------------------------------
// Shared shapes
// ---------------------------------------------------------------------------------------------------------

interface LoadSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
}

/** One measured run, whatever produced it. Latencies in milliseconds. */
interface LoadResult {
  requests: number; // responses received
  seconds: number; // measured wall time
  rps: number;
  p50: number;
  p99: number;
  max: number;
  non2xx: number; // responses whose status was not 2xx (wrk: status >= 400, see README)
  socketErrors: number; // connect/read/write errors and timeouts
  loadCpuSeconds?: number; // CPU time the load generator process used (filled in by the orchestrator)
}

// ---------------------------------------------------------------------------------------------------------
// Role: ceiling — a bare Elysia route, nothing else
// ---------------------------------------------------------------------------------------------------------

async function runCeilingServer() {
  const { Elysia } = await import("elysia");
  const port = Number(process.env.PORT);
  const app = new Elysia().get("/x", () => "ok").listen({ port, hostname: HOST });
  const stop = () => {
    void app.stop(true).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

// ---------------------------------------------------------------------------------------------------------
// Role: loadgen — N keep-alive fetch loops for a fixed time, latencies in a fixed-size histogram
// ---------------------------------------------------------------------------------------------------------

const BUCKET_US = 10; // histogram resolution
const BUCKETS = 200_000; // 10 µs × 200k = 2 s; slower responses land in the last bucket
const MAX_REQUESTS_PER_LOOP = 5_000_000; // belt and braces: loops end on time, but never run unbounded

async function runLoadgen() {
  const spec = JSON.parse(process.env.BENCH_LOADGEN_SPEC ?? "null") as LoadSpec | null;
  if (!spec) throw new Error("loadgen: BENCH_LOADGEN_SPEC missing");
  const hist = new Uint32Array(BUCKETS);
  let requests = 0;
  let non2xx = 0;
  let socketErrors = 0;
  let maxUs = 0;
  const init: RequestInit = { method: spec.method, headers: spec.headers, body: spec.body, keepalive: true };

  const start = performance.now();
  const deadline = start + spec.seconds * 1000;
  const loop = async () => {
    for (let i = 0; i < MAX_REQUESTS_PER_LOOP && performance.now() < deadline; i++) {
      const t0 = performance.now();
      try {
        const res = await fetch(spec.url, init);
        await res.arrayBuffer();
        const us = (performance.now() - t0) * 1000;
        hist[Math.min(BUCKETS - 1, Math.floor(us / BUCKET_US))]!++;
        if (us > maxUs) maxUs = us;
        requests++;
        if (res.status < 200 || res.status > 299) non2xx++;
      } catch {
        socketErrors++;
        await Bun.sleep(1); // do not spin on a dead server
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const seconds = (performance.now() - start) / 1000;

  const percentile = (p: number) => {
    const want = Math.max(1, Math.ceil((p / 100) * requests));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += hist[b]!;
      if (seen >= want) return ((b + 0.5) * BUCKET_US) / 1000;
    }
    return maxUs / 1000;
  };
  const result: LoadResult = {
    requests,
    seconds,
    rps: requests / seconds,
    p50: percentile(50),
    p99: percentile(99),
    max: maxUs / 1000,
    non2xx,
    socketErrors,
  };
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Role: orchestrator
// ---------------------------------------------------------------------------------------------------------

const REPO = resolve(import.meta.dir, "..");

function envInt(name: string, fallback: number, min: number, max: number): number {
  const v = process.env[name]?.trim();
  if (!v) return fallback;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new Error(`${name} must be an integer between ${min} and ${max} (got "${v}")`);
  return n;
}

/** Child processes and the temp dir, released on every way out. */
class Resources {
  readonly dir = mkdtempSync(join(tmpdir(), "flowyte-bench-"));
  private procs = new Set<Subprocess>();
  private cleaning: Promise<void> | null = null;
  interrupted = false;

  track<T extends Subprocess>(p: T): T {
    this.procs.add(p);
    void p.exited.then(() => this.procs.delete(p));
    return p;
  }

  /** SIGTERM, wait up to `graceMs`, then SIGKILL. */
  async stop(p: Subprocess, graceMs = 10_000) {
    if (p.exitCode !== null || p.signalCode !== null) return;
    p.kill("SIGTERM");
    const done = await Promise.race([p.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!done) {
      p.kill("SIGKILL");
      await Promise.race([p.exited, Bun.sleep(2_000)]);
    }
  }

  /** Stop every child and remove the temp dir; every caller waits for the same clean-up. */
  cleanup(): Promise<void> {
    this.cleaning ??= Promise.all([...this.procs].map((p) => this.stop(p))).then(() => rmSync(this.dir, { recursive: true, force: true }));
    return this.cleaning;
  }

  /** Last resort on a synchronous exit path (process.exit, a second Ctrl-C): no waiting possible. */
  cleanupSync() {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): number {
  const listener = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

function tail(path: string, lines = 30): string {
  if (!existsSync(path)) return "";
  return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/** Poll `url` until it answers 200; fails early when the process exits. Bounded by `timeoutMs`. */
async function waitForHttp(url: string, proc: Subprocess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let i = 0; i < 10_000 && Date.now() < until; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`process exited (${proc.exitCode ?? proc.signalCode}) before ${url} answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

interface Server {
  name: string;
  base: string;
  proc: Subprocess;
  log: string;
}

/** Spawn a server on a free port and wait for `readyPath`; retries a few times in case the port was taken meanwhile. */
async function startServer(
  res: Resources,
  name: string,
  cmd: string[],
  /** Environment of each attempt (a fresh DATA_DIR per attempt, so a killed attempt's lock cannot get in the way). */
  envFor: (attempt: number) => Record<string, string | undefined>,
  readyPath: string,
  timeoutMs: number,
): Promise<Server> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = freePort();
    const log = join(res.dir, `${name}.${attempt}.log`);
    const proc = res.track(
      Bun.spawn(cmd, { cwd: REPO, env: { ...envFor(attempt), PORT: String(port) }, stdin: "ignore", stdout: Bun.file(log), stderr: Bun.file(`${log}.err`) }),
    );
    const base = `http://${HOST}:${port}`;
    try {
      await waitForHttp(base + readyPath, proc, timeoutMs);
      return { name, base, proc, log };
    } catch (err) {
      lastError = err;
      await res.stop(proc, 3_000);
      process.stderr.write(`${name} did not start (attempt ${attempt}): ${(err as Error).message}\n${tail(log)}\n${tail(`${log}.err`)}\n`);
    }
  }
  throw new Error(`${name} could not be started: ${(lastError as Error)?.message}`);
}

function assertAlive(server: Server) {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
    const output = [tail(server.log), tail(`${server.log}.err`)].filter(Boolean).join("\n");
    throw new Error(`${server.name} exited during the run (${server.proc.exitCode ?? server.proc.signalCode})${output ? `; its last output:\n${output}` : ""}`);
  }
}

// --- CPU time of a process, from /proc (Linux); null elsewhere ---

const CLK_TCK = (() => {
  try {
    const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
    return Number(out) > 0 ? Number(out) : 100;
  } catch {
    return 100;
  }
})();

function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
  } catch {
    return null;
  }
}

/** CPU seconds the whole machine spent busy (all cores), from /proc/stat; null elsewhere. */
function machineBusySeconds(): number | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / CLK_TCK;
  } catch {
    return null;
  }
}

const cpuOf = (proc: Subprocess) => {
  try {
    return Number(proc.resourceUsage()?.cpuTime.total ?? 0n) / 1e6;
  } catch {
    return undefined;
  }
};

// --- load drivers ---

interface Driver {
  name: string;
  run(spec: LoadSpec): Promise<LoadResult>;
}

function wrkDriver(res: Resources, wrkPath: string, threads: number): Driver {
  let n = 0;
  return {
    name: `wrk (${threads} thread${threads === 1 ? "" : "s"})`,
    async run(spec) {
      // The request (method, headers, body) and a done() hook that prints the figures as one JSON line.
      const lua = [
        `wrk.method = ${JSON.stringify(spec.method)}`,
        ...Object.entries(spec.headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
        spec.body !== undefined ? `wrk.body = ${JSON.stringify(spec.body)}` : "",
        `function done(summary, latency, requests)`,
        `  local e = summary.errors`,
        `  io.write(string.format('BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"status":%d,"socket":%d}\\n',`,
        `    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,`,
        `    e.status, e.connect + e.read + e.write + e.timeout))`,
        `end`,
      ].join("\n");
      const script = join(res.dir, `wrk-${++n}.lua`);
      writeFileSync(script, lua);
      const connections = Math.max(spec.connections, threads);
      const proc = res.track(
        Bun.spawn([wrkPath, `-t${threads}`, `-c${connections}`, `-d${spec.seconds}s`, "--timeout", "5s", "-s", script, spec.url], {
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        }),
      );
      const out = await withTimeout(new Response(proc.stdout).text(), (spec.seconds + 30) * 1000, () => proc.kill("SIGKILL"));
      const err = await new Response(proc.stderr).text();
      await proc.exited;
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (proc.exitCode !== 0 || !line) throw new Error(`wrk failed (exit ${proc.exitCode}):\n${out}\n${err}`);
      const r = JSON.parse(line.slice("BENCH_RESULT ".length)) as Record<string, number>;
      const seconds = r.duration_us! / 1e6;
      return {
        requests: r.requests!,
        seconds,
        rps: r.requests! / seconds,
        p50: r.p50_us! / 1000,
        p99: r.p99_us! / 1000,
        max: r.max_us! / 1000,
        non2xx: r.status!,
        socketErrors: r.socket!,
        loadCpuSeconds: cpuOf(proc),
      };
    },
  };
}

function bunDriver(res: Resources): Driver {
  return {
    name: "bun fetch loops (separate process)",
    async run(spec) {
      const proc = res.track(
        Bun.spawn([process.execPath, import.meta.path, "loadgen"], {
          cwd: REPO,
          env: { ...process.env, BENCH_LOADGEN_SPEC: JSON.stringify(spec) },
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        }),
      );
      const out = await withTimeout(new Response(proc.stdout).text(), (spec.seconds + 30) * 1000, () => proc.kill("SIGKILL"));
      const err = await new Response(proc.stderr).text();
      await proc.exited;
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (proc.exitCode !== 0 || !line) throw new Error(`load generator failed (exit ${proc.exitCode}):\n${out}\n${err}`);
      return { ...(JSON.parse(line.slice("BENCH_RESULT ".length)) as LoadResult), loadCpuSeconds: cpuOf(proc) };
    },
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- the run ---

interface Scenario {
  label: string;
  server: Server;
  spec: Omit<LoadSpec, "connections" | "seconds">;
  /** One request made before loading, to be sure the route answers what it should (not an error page). */
  check(res: Response, body: string): string | null;
}

interface Row {
  label: string;
  result: LoadResult;
  // Cores used during the run (1.0 = one core busy the whole time): the server process, the load generator,
  // and everything else on the machine (the noise: other people's processes).
  serverCpu: number | null;
  loadCpu: number | null;
  otherCpu: number | null;
}

async function measure(driver: Driver, s: Scenario, connections: number, seconds: number, warmup: number): Promise<Row> {
  assertAlive(s.server);
  const probe = await fetch(s.spec.url, { method: s.spec.method, headers: s.spec.headers, body: s.spec.body });
  const text = await probe.text();
  const problem = s.check(probe, text);
  if (problem) throw new Error(`${s.label}: probe answered ${probe.status}: ${problem}\n${text.slice(0, 500)}`);
  if (warmup > 0) await driver.run({ ...s.spec, connections, seconds: warmup });
  assertAlive(s.server);
  const cpu0 = cpuSeconds(s.server.proc.pid);
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const result = await driver.run({ ...s.spec, connections, seconds });
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(s.server.proc.pid);
  const busy1 = machineBusySeconds();
  assertAlive(s.server);
  const serverCpu = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / wall : null;
  const loadCpu = result.loadCpuSeconds !== undefined ? result.loadCpuSeconds / wall : null;
  const otherCpu =
    busy0 !== null && busy1 !== null && serverCpu !== null && loadCpu !== null ? Math.max(0, (busy1 - busy0) / wall - serverCpu - loadCpu) : null;
  const row: Row = { label: s.label, result, serverCpu, loadCpu, otherCpu };
  process.stdout.write(`  ${formatLine(row)}\n`);
  return row;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtMs = (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const formatLine = (r: Row) =>
  `${r.label}: ${fmtInt(r.result.rps)} req/s, p50 ${fmtMs(r.result.p50)} ms, p99 ${fmtMs(r.result.p99)} ms, ` +
  `non-2xx ${r.result.non2xx}, socket errors ${r.result.socketErrors}; CPU server ${pct(r.serverCpu)}, load ${pct(r.loadCpu)}, other ${pct(r.otherCpu)}`;
const pct = (cores: number | null) => (cores === null ? "?" : `${Math.round(cores * 100)}%`);

async function orchestrate() {
  const seconds = envInt("BENCH_SECONDS", 10, 1, 600);
  const connections = envInt("BENCH_CONNECTIONS", 32, 1, 1000);
  const warmup = envInt("BENCH_WARMUP_SECONDS", 2, 0, 60);
  const threads = envInt("BENCH_WRK_THREADS", 1, 1, 64);
  const agentCount = envInt("BENCH_AGENTS", 50, 1, 1000);
  const forced = process.env.BENCH_LOADGEN?.trim().toLowerCase();
  if (forced && forced !== "wrk" && forced !== "bun") throw new Error(`BENCH_LOADGEN must be wrk or bun (got "${forced}")`);

  const res = new Resources();
  const onSignal = (sig: NodeJS.Signals) => {
    if (res.interrupted) process.exit(130); // second signal: the exit hook kills what is left
    res.interrupted = true;
    process.stderr.write(`\n${sig}: stopping the servers and removing ${res.dir}\n`);
    void res.cleanup().finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", () => res.cleanupSync());

  try {
    const wrkPath = forced === "bun" ? null : Bun.which("wrk");
    if (forced === "wrk" && !wrkPath) throw new Error("BENCH_LOADGEN=wrk but wrk is not installed (apt-get install -y wrk)");
    const driver = wrkPath ? wrkDriver(res, wrkPath, threads) : bunDriver(res);

    console.log("Flowyte control-plane API benchmark");
    console.log(
      `  bun ${Bun.version}, ${cpus().length} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; load: ${driver.name}, ${connections} connections, ${seconds} s per route (+${warmup} s warm-up)`,
    );

    // The appliance, exactly as `bun start` runs it, on the embedded store in a fresh folder.
    const adminKey = `flowyte_sk_live_${randomBytes(32).toString("hex")}`;
    const appEnv: Record<string, string | undefined> = { ...process.env };
    for (const k of ["DATABASE_URL", "PUBLIC_BASE_URL", "MAX_JSON_BODY_BYTES", "HOST", "PORT"]) delete appEnv[k];
    Object.assign(appEnv, {
      HOST,
      FLOWYTE_ADMIN_KEY: adminKey,
      MASTER_KEY: randomBytes(32).toString("hex"),
      LOG_LEVEL: "warn",
      RATE_LIMIT_PER_MINUTE: "0",
      // The bench measures the server on what MODELS_DIR holds, not while it fetches models.
      MODELS_AUTO_DOWNLOAD: "false",
    });
    const t0 = performance.now();
    const app = await startServer(res, "app", [process.execPath, "src/main.ts"], (n) => ({ ...appEnv, DATA_DIR: join(res.dir, `data-${n}`) }), "/health", 90_000);
    console.log(`  app up in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${app.base} (embedded store)`);

    const ceilingEnv: Record<string, string | undefined> = { ...process.env };
    delete ceilingEnv.PORT;
    const ceiling = await startServer(res, "ceiling", [process.execPath, import.meta.path, "ceiling"], () => ceilingEnv, "/x", 30_000);

    // Seed: one agent to read and patch, and enough others that a page of the list is full.
    const auth = { authorization: `Bearer ${adminKey}` };
    const json = { ...auth, "content-type": "application/json" };
    const create = async (name: string) => {
      const r = await fetch(`${app.base}/api/v1/agents`, {
        method: "POST",
        headers: json,
        body: JSON.stringify({ name, tone: "friendly", goals: ["Answer questions about opening hours"] }),
      });
      const body = (await r.json()) as { data?: { id: string } };
      if (r.status !== 201 || !body.data?.id) throw new Error(`POST /api/v1/agents answered ${r.status}: ${JSON.stringify(body)}`);
      return body.data.id;
    };
    const agentId = await create("Bench agent");
    for (let i = 0; i < agentCount; i += 10) {
      await Promise.all(Array.from({ length: Math.min(10, agentCount - i) }, (_, j) => create(`Filler agent ${i + j + 1}`)));
    }
    console.log(`  seeded ${agentCount + 1} agents; measuring agent ${agentId}\n`);

    const agentUrl = `${app.base}/api/v1/agents/${agentId}`;
    const envelopeOk = (res: Response, body: string) => {
      if (res.status !== 200) return "expected 200";
      try {
        return (JSON.parse(body) as { success?: boolean }).success === true ? null : "expected success: true";
      } catch {
        return "not JSON";
      }
    };
    const ceilingScenario = (label: string): Scenario => ({
      label,
      server: ceiling,
      spec: { url: `${ceiling.base}/x`, method: "GET", headers: {} },
      check: (r, body) => (r.status === 200 && body === "ok" ? null : "expected 200 ok"),
    });
    const routes: Scenario[] = [
      { label: "GET /api/v1/agents/{id}", server: app, spec: { url: agentUrl, method: "GET", headers: auth }, check: envelopeOk },
      {
        label: "PATCH /api/v1/agents/{id}",
        server: app,
        spec: { url: agentUrl, method: "PATCH", headers: json, body: JSON.stringify({ tone: "calm" }) },
        check: envelopeOk,
      },
      {
        label: "GET /api/v1/agents?limit=20",
        server: app,
        spec: { url: `${app.base}/api/v1/agents?limit=20`, method: "GET", headers: auth },
        check: (r, body) => envelopeOk(r, body) ?? ((JSON.parse(body) as { data: unknown[] }).data.length === 20 ? null : "expected 20 agents"),
      },
    ];

    const agentVersion = async () => ((await (await fetch(agentUrl, { headers: auth })).json()) as { data: { version: number } }).data.version;

    // Ceiling before and after the routes: the machine is shared, so the spread shows how much it drifted.
    const before = await measure(driver, ceilingScenario("ceiling GET /x (before)"), connections, seconds, warmup);
    const rows: Row[] = [];
    let patchWrites: { counted: number; versionDelta: number } | null = null;
    for (const s of routes) {
      const v0 = s.spec.method === "PATCH" ? await agentVersion() : 0;
      const row = await measure(driver, s, connections, seconds, warmup);
      if (s.spec.method === "PATCH") patchWrites = { counted: row.result.requests - row.result.non2xx, versionDelta: (await agentVersion()) - v0 };
      rows.push(row);
    }
    const after = await measure(driver, ceilingScenario("ceiling GET /x (after)"), connections, seconds, 0);
    const ceilingRps = (before.result.rps + after.result.rps) / 2;

    // --- report ---
    const table: string[][] = [["route", "req/s", "p50 ms", "p99 ms", "non-2xx", "sock err", "× ceiling", "CPU server", "CPU load", "CPU other"]];
    const add = (r: Row) =>
      table.push([
        r.label,
        fmtInt(r.result.rps),
        fmtMs(r.result.p50),
        fmtMs(r.result.p99),
        String(r.result.non2xx),
        String(r.result.socketErrors),
        (r.result.rps / ceilingRps).toFixed(3),
        pct(r.serverCpu),
        pct(r.loadCpu),
        pct(r.otherCpu),
      ]);
    add(before);
    add(after);
    rows.forEach(add);
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    const render = (row: string[]) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
    console.log(`\nResults (${driver.name}, ${connections} connections, ${seconds} s each; ratio against the mean ceiling ${fmtInt(ceilingRps)} req/s)`);
    console.log(render(table[0]!));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const row of table.slice(1)) console.log(render(row));
    const drift = Math.abs(before.result.rps - after.result.rps) / ceilingRps;
    if (drift > 0.15) console.log(`note: the ceiling moved ${Math.round(drift * 100)}% between before and after; the machine was busy, compare ratios, not absolutes`);
    if (patchWrites) console.log(`check: PATCH moved the agent's version by ${patchWrites.versionDelta} (≥ ${patchWrites.counted} 2xx PATCHes counted, plus warm-up)`);
    const failed = rows.filter((r) => r.result.non2xx > 0 || r.result.socketErrors > 0);
    if (failed.length) console.log(`warning: errors under load on ${failed.map((r) => r.label).join(", ")}`);

    const get = rows[0]!.result;
    const pass = get.rps >= 5_000 && get.p99 < 10 && get.non2xx === 0;
    console.log(
      `\nTarget (ARCHITECTURE.md, Budgets): GET of one agent >= 5,000 req/s on 2 cores with the embedded store, p99 < 10 ms` +
        `\n  measured ${fmtInt(get.rps)} req/s, p99 ${fmtMs(get.p99)} ms, ${(get.rps / ceilingRps).toFixed(3)} × ceiling on ${cpus().length} CPUs -> ${pass ? "PASS" : "MISS"}`,
    );
  } catch (err) {
    if (res.interrupted) {
      await res.cleanup();
      process.exit(130);
    }
    throw err;
  } finally {
    await res.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------------------

const role = process.argv[2];
if (role === "ceiling") await runCeilingServer();
else if (role === "loadgen") await runLoadgen();
else if (role === undefined) {
  try {
    await orchestrate();
  } catch (err) {
    console.error(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  }
} else {
  console.error(`unknown role "${role}"; run \`bun bench/api.ts\``);
  process.exit(2);
}
