// Backup and restore, as docs/operator-guide.md ("Backup and restore") tells an operator to do them: data written
// through the real app over HTTP, dumped, restored into a fresh store, and read back over HTTP by a server started
// on the restored store (a sealed secret included: it opens under the same master key). The embedded store by
// `bun run admin backup/restore` and by a copy of the stopped folder; Postgres by pg_dump / pg_restore, when
// DATABASE_URL names a server and the client tools are installed.
import { afterAll, describe, expect, it } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { SECRET_KEY_SCOPES } from "../src/platform/auth/scopes.ts";
import { createLogger } from "../src/platform/log.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import { orderStatusSkill, startWebhookTarget } from "./support/agent-builder.ts";
import { callApi, freshPostgres, newAdminKey, testConfig } from "./support/app.ts";
import { until } from "./support/until.ts";

const quiet = createLogger("error");
const root = mkdtempSync(join(tmpdir(), "flowyte-backup-"));
const lookups = startWebhookTarget(() => ({ status: "shipped" }));
afterAll(() => {
  lookups.stop();
  rmSync(root, { recursive: true, force: true });
});

const SECRET = "sk_live_backup_4321";
const adminKey = newAdminKey();
const start = (dataDir: string, databaseUrl?: string, masterKey = "") => startServer(testConfig(dataDir, databaseUrl, adminKey, { EGRESS_ALLOWLIST: "127.0.0.1" }, masterKey), quiet);

/** The operator CLI as its own process on DATA_DIR `dataDir`. */
async function admin(dataDir: string, ...args: string[]) {
  const proc = Bun.spawn(["bun", "src/admin.ts", ...args], { env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: "", MASTER_KEY: "" }, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, out, err };
}

async function run(cmd: string[]) {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd[0]} exited ${code}: ${err}`);
}

interface Written {
  key: string;
  agentId: string;
  skillId: string;
  sourceId: string;
  sessionId: string;
  transcript: [string, string][];
}

const transcriptOf = async (call: ReturnType<typeof client>, sessionId: string) =>
  ((await call("GET", `/api/v1/chat/sessions/${sessionId}/messages?limit=100`)) as { role: string; content: string }[]).map((m) => [m.role, m.content] as [string, string]);

function client(base: string, key: string) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await callApi(base, key, method, path, { body });
    if (res.status >= 400) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data;
  };
}

/** An API key, an agent with a webhook skill whose header is sealed, an uploaded file as a knowledge source, a chat. */
async function writeData(server: RunningServer): Promise<Written> {
  const { secret: key } = await client(server.url, adminKey)("POST", "/api/v1/api-keys", { name: "backup test", scopes: SECRET_KEY_SCOPES });
  const call = client(server.url, key);
  const agent = await call("POST", "/api/v1/agents", { name: "Backed up desk", greeting: "Hello from before the backup." });
  const skill = await call("POST", `/api/v1/agents/${agent.id}/skills`, { ...orderStatusSkill(lookups.url), executionConfig: { url: `${lookups.url}/status`, method: "GET", headers: { "X-Api-Key": SECRET } } });
  const form = new FormData();
  form.append("file", new Blob(["Returns are accepted within 30 days with the receipt. Refunds go back to the card used."], { type: "text/plain" }), "returns.txt");
  const upload = await (await fetch(`${server.url}/api/v1/uploads`, { method: "POST", headers: { authorization: `Bearer ${key}` }, body: form })).json();
  const source = await call("POST", `/api/v1/agents/${agent.id}/knowledge/sources`, { kind: "file", label: "Returns", file_id: upload.data.file_id });
  await until(async () => (await call("GET", `/api/v1/agents/${agent.id}/knowledge/sources/${source.id}`)).status === "indexed", 30_000);
  await call("POST", `/api/v1/agents/${agent.id}/publish`, {});
  const session = await call("POST", "/api/v1/chat/sessions", { agentId: agent.id, externalUserId: "user-7" });
  await call("POST", `/api/v1/chat/sessions/${session.id}/messages`, { content: "check the delivery status of my order" });
  await call("POST", `/api/v1/chat/sessions/${session.id}/messages`, { content: "How long do I have to return something?" });
  expect(lookups.calls.at(-1)!.headers["x-api-key"]).toBe(SECRET);
  const transcript = await transcriptOf(call, session.id);
  expect(transcript.filter(([role]) => role === "user")).toHaveLength(2);
  return { key, agentId: agent.id, skillId: skill.id, sourceId: source.id, sessionId: session.id, transcript };
}

/** Everything writeData stored, read back over HTTP from a server on the restored store, and the secret used. */
async function readBack(server: RunningServer, written: Written) {
  const call = client(server.url, written.key);
  expect(await call("GET", `/api/v1/agents/${written.agentId}`)).toMatchObject({ name: "Backed up desk", greeting: "Hello from before the backup." });
  // Masked with its last four characters: shown only when the value opens under the master key.
  expect((await call("GET", `/api/v1/agents/${written.agentId}/skills/${written.skillId}`)).executionConfig.headers).toEqual({ "X-Api-Key": "••••4321" });
  expect(await call("GET", `/api/v1/agents/${written.agentId}/knowledge/sources/${written.sourceId}`)).toMatchObject({ status: "indexed", chunkCount: 1 });
  const found = await call("POST", `/api/v1/agents/${written.agentId}/knowledge/preview`, { query: "How many days to return an item?" });
  expect(found.chunks[0]).toMatchObject({ sourceId: written.sourceId, text: expect.stringContaining("30 days") });
  expect(await call("GET", `/api/v1/chat/sessions/${written.sessionId}`)).toMatchObject({ status: "active", externalUserId: "user-7" });
  expect(await transcriptOf(call, written.sessionId)).toEqual(written.transcript);

  // The conversation goes on, and the skill sends the secret it was stored with.
  const before = lookups.calls.length;
  await call("POST", `/api/v1/chat/sessions/${written.sessionId}/messages`, { content: "check the delivery status of my order again" });
  expect(lookups.calls.length).toBe(before + 1);
  expect(lookups.calls.at(-1)!.headers["x-api-key"]).toBe(SECRET);
  const after = await transcriptOf(call, written.sessionId);
  expect(after.slice(0, written.transcript.length)).toEqual(written.transcript);
  expect(after[written.transcript.length]).toEqual(["user", "check the delivery status of my order again"]);
}

describe("backup and restore of the embedded store", () => {
  it("restores `bun run admin backup` into a fresh DATA_DIR, and a copy of the stopped folder works too", async () => {
    const original = join(root, "original");
    let server = await start(original);
    let written: Written;
    const file = join(root, "flowyte.backup");
    try {
      written = await writeData(server);
      // A running server holds the folder: the CLI refuses rather than copying files being written.
      const refused = await admin(original, "backup", file);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain(`in use by process ${process.pid}`);
    } finally {
      await server.stop();
    }
    const copy = join(root, "copy");
    cpSync(original, copy, { recursive: true });

    const made = await admin(original, "backup", file);
    expect(made.err).toBe("");
    expect(made.out).toContain(`keep ${join(original, "master.key")} with it`);
    expect((await admin(original, "backup", file)).err).toContain("already exists");

    const restored = join(root, "restored");
    // The master key, kept apart from the database as the guide says, goes into the new folder beside it.
    mkdirSync(restored, { mode: 0o700 });
    cpSync(join(original, "master.key"), join(restored, "master.key"));
    const loaded = await admin(restored, "restore", file);
    expect(loaded.err).toBe("");
    expect(loaded.code).toBe(0);
    expect((await admin(restored, "restore", file)).err).toContain("already holds a database");

    for (const dataDir of [restored, copy]) {
      server = await start(dataDir);
      try {
        await readBack(server, written!);
      } finally {
        await server.stop();
      }
    }
  });

  it("refuses a file that is not a backup and leaves no database behind", async () => {
    const junk = join(root, "junk.backup");
    await Bun.write(junk, "not a tarball");
    const dataDir = join(root, "junk");
    const refused = await admin(dataDir, "restore", junk);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("is not a backup of the embedded store");
    expect((await admin(dataDir, "backup", join(root, "none.backup"))).err).toContain("there is no embedded database");
  });
});

const pgTools = Bun.which("pg_dump") && Bun.which("pg_restore");
const postgresSkip = !process.env.DATABASE_URL ? "needs DATABASE_URL" : !pgTools ? "needs pg_dump and pg_restore" : null;

describe.skipIf(postgresSkip !== null)("backup and restore on Postgres", () => {
  it("restores a pg_dump taken while the server runs into a fresh database", async () => {
    const masterKey = randomBytes(32).toString("hex");
    const dataDir = mkdtempSync(join(root, "pg-"));
    const source = await freshPostgres(process.env.DATABASE_URL!);
    const target = await freshPostgres(process.env.DATABASE_URL!);
    const file = join(root, "flowyte.dump");
    try {
      let server = await start(dataDir, source.url, masterKey);
      let written: Written;
      try {
        written = await writeData(server);
        // pg_dump reads one snapshot: the server goes on serving while it runs.
        await run(["pg_dump", "--format=custom", `--file=${file}`, `--dbname=${source.url}`]);
      } finally {
        await server.stop();
      }
      await source.drop();
      await run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", `--dbname=${target.url}`, file]);
      server = await start(mkdtempSync(join(root, "pg-")), target.url, masterKey);
      try {
        await readBack(server, written!);
      } finally {
        await server.stop();
      }
    } finally {
      await source.drop();
      await target.drop();
    }
  });
});
