// kill -9 in the middle of an ingestion: the server runs as its own process (`bun src/main.ts`, as in production) on
// the store of the test run (a PGlite folder, or a fresh Postgres database with DATABASE_URL), is killed with SIGKILL
// while a large source is being indexed, and started again on the same store. The interrupted job must be resumed
// within seconds (not when its 15-minute expiry passes), and the source must end indexed with every passage once.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Subprocess } from "bun";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { chunkText } from "../../../src/knowledge/ingestion/chunker.ts";
import { openDatabase } from "../../../src/platform/db/index.ts";
import { createLogger } from "../../../src/platform/log.ts";

const RESUME_BOUND_MS = 30_000;
const dataDir = mkdtempSync(join(tmpdir(), "flowyte-crash-"));
const adminKey = `flowyte_sk_live_${randomBytes(32).toString("hex")}`;
const masterKey = randomBytes(32).toString("hex");
let databaseUrl: string | null = null;
let dropDatabase = async () => {};
let server: Subprocess | null = null;
let base = "";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function startServer() {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: join(import.meta.dir, "../../.."),
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl ?? "",
      FLOWYTE_ADMIN_KEY: adminKey,
      MASTER_KEY: masterKey,
      LOG_LEVEL: "error",
      RATE_LIMIT_PER_MINUTE: "0",
      MODELS_AUTO_DOWNLOAD: "false",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${base}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`the server did not start (exit code ${server.exitCode})`);
    await Bun.sleep(100);
  }
}

async function api(method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Rows of the store, read once the server is stopped (the embedded store admits one process at a time). */
async function storedPassages(sourceId: string): Promise<{ rows: number; ordinals: number }> {
  const database = await openDatabase({ databaseUrl, dataDir, log: createLogger("error") });
  try {
    const result = (await database.db.execute(
      sql`select count(*)::int as rows, count(distinct ordinal)::int as ordinals from knowledge_chunks where source_id = ${sourceId}`,
    )) as unknown as { rows?: { rows: number; ordinals: number }[] } | { rows: number; ordinals: number }[];
    return (Array.isArray(result) ? result : result.rows!)[0]!;
  } finally {
    await database.close();
  }
}

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    const name = `flowyte_t_${randomBytes(6).toString("hex")}`;
    const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    dropDatabase = async () => {
      const a = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    };
  }
  await startServer();
});

afterAll(async () => {
  server?.kill("SIGKILL");
  await server?.exited;
  await dropDatabase();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("kill -9 during an ingestion", () => {
  it("resumes the interrupted ingestion within seconds of the restart and stores every passage exactly once", async () => {
    const text = Array.from({ length: 1400 }, (_, i) =>
      Array.from({ length: 5 }, (_, j) => `Clause ${i}.${j} of the lease says the tenant keeps the garden of unit ${i} tidy.`).join(" "),
    ).join("\n\n");
    const total = chunkText(text).length;
    const agent = await api("POST", "/api/v1/agents", { name: "Lease desk" });
    expect(agent.status).toBe(201);
    const path = `/api/v1/agents/${agent.body.data.id}/knowledge/sources`;
    const created = await api("POST", path, { kind: "text", label: "Lease", text });
    expect(created.status).toBe(201);
    const sourceId = created.body.data.id;
    const summary = async () => (await api("GET", path)).body.data.find((s: any) => s.id === sourceId);

    // Mid-way: some batches stored, not all.
    let before: any;
    do {
      before = await summary();
      expect(before.status === "indexed").toBe(false);
    } while (before.chunkCount === 0);
    server!.kill("SIGKILL");
    await server!.exited;

    await startServer();
    const restarted = Date.now();
    let after: any;
    for (;;) {
      after = await summary();
      // Carried on from what was stored: the count never goes back.
      expect(after.chunkCount).toBeGreaterThanOrEqual(before.chunkCount);
      if (after.status !== "indexing" || Date.now() - restarted > RESUME_BOUND_MS) break;
      await Bun.sleep(100);
    }
    expect(after).toMatchObject({ status: "indexed", chunkCount: total, progress: { current: total, total } });

    server!.kill("SIGTERM");
    await server!.exited;
    expect(await storedPassages(sourceId)).toEqual({ rows: total, ordinals: total });
  });
});
