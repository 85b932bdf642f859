// A bound SQL read inside a chat turn, on the real Postgres and MariaDB of this machine: what the integration path
// (skill runner → signature check → credentials opened → plugin context → pooled read-only transaction with its
// statement timeout → projection) adds over the database's own time for the same frozen statement, measured in the
// same run on a warm connection of its own. Also the whole turn against the same turn whose skill answers at once.
// Usage: bun bench/integrations.ts   (BENCH_TURNS, default 400 per database; SQL_TEST_POSTGRES_URL, SQL_TEST_MYSQL_URL)
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import mysql from "mysql2/promise";
import postgres from "postgres";
import { compileDraft } from "../src/api/agents/compile.ts";
import { AgentsService } from "../src/api/agents/service.ts";
import { IntegrationConnections } from "../src/api/integrations/connections.ts";
import type { ValidatedBinding } from "../src/api/integrations/contract.ts";
import { loadPlugins } from "../src/api/integrations/registry.ts";
import { createOperationSigner } from "../src/api/integrations/signing.ts";
import { createOrganization } from "../src/platform/auth/organizations.ts";
import { createSealer } from "../src/platform/crypto.ts";
import { openDatabase } from "../src/platform/db/index.ts";
import { agents, integrations, skills } from "../src/platform/db/schema/index.ts";
import { createEgressGuard } from "../src/platform/egress.ts";
import { offlineGeocoder } from "../src/platform/geo/index.ts";
import { newId } from "../src/platform/ids.ts";
import { createLogger } from "../src/platform/log.ts";
import { ConversationRuntime } from "../src/runtime/conversation.ts";
import { ConversationStore } from "../src/runtime/store.ts";
import { createSkillRunner, type RunSkill } from "../src/runtime/tools/index.ts";

const TURNS = Number(process.env.BENCH_TURNS ?? 400);
const ROWS = 20_000;
const PHONE = "+14155550100";
const ASK = "When is my appointment? My number is 415 555 0100";
const log = createLogger("error");
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (n: number) => `${n.toFixed(2)} ms`;

type Dialect = "postgres" | "mysql";
const URLS: Record<Dialect, URL> = {
  postgres: new URL(process.env.SQL_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test"),
  mysql: new URL(process.env.SQL_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test"),
};

/** A customer database of its own: customers, and appointments looked up by an indexed phone column. */
async function customerDatabase(dialect: Dialect) {
  const url = URLS[dialect];
  const name = `flowyte_bench_${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const user = decodeURIComponent(url.username) || (dialect === "postgres" ? "postgres" : "root");
  const password = decodeURIComponent(url.password);
  const port = Number(url.port || (dialect === "postgres" ? 5432 : 3306));
  const ddl = [
    "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL)",
    "CREATE TABLE appointments (id INT PRIMARY KEY, customer_id INT NOT NULL REFERENCES customers(id), phone VARCHAR(20) NOT NULL, starts_at VARCHAR(40) NOT NULL)",
    "CREATE INDEX appointments_phone ON appointments (phone)",
  ];
  const customers = Array.from({ length: 1000 }, (_, i) => [i + 1, `Customer ${i + 1}`]);
  const appointments = Array.from({ length: ROWS }, (_, i) => [i + 1, (i % 1000) + 1, i === ROWS / 2 ? PHONE : `+1415${String(1_000_000 + i).padStart(7, "0")}`, `2027-01-${String((i % 28) + 1).padStart(2, "0")}T10:00:00Z`]);
  if (dialect === "postgres") {
    const boot = postgres({ host: url.hostname, port, database: url.pathname.slice(1) || "test", username: user, password, max: 1, onnotice: () => {} });
    await boot.unsafe(`CREATE DATABASE ${name}`);
    await boot.end();
    const sql = postgres({ host: url.hostname, port, database: name, username: user, password, max: 1, onnotice: () => {} });
    for (const statement of ddl) await sql.unsafe(statement);
    await sql`INSERT INTO customers ${sql(customers.map(([id, n]) => ({ id, name: n })))}`;
    for (let i = 0; i < appointments.length; i += 5000) {
      await sql`INSERT INTO appointments ${sql(appointments.slice(i, i + 5000).map(([id, c, phone, at]) => ({ id, customer_id: c, phone, starts_at: at })))}`;
    }
    await sql`ANALYZE`;
    return {
      credentials: { host: url.hostname, port: String(port), database: name, user, password, sslmode: "disable" },
      /** The database's own time for the statement: a warm connection of its own, no transaction around it. */
      query: async (statement: string, params: unknown[]) => void (await sql.unsafe(statement, params as never[])),
      async drop() {
        await sql.end();
        const admin = postgres({ host: url.hostname, port, database: url.pathname.slice(1) || "test", username: user, password, max: 1, onnotice: () => {} });
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const boot = await mysql.createConnection({ host: url.hostname, port, user, password });
  await boot.query(`CREATE DATABASE ${name}`);
  await boot.end();
  const conn = await mysql.createConnection({ host: url.hostname, port, user, password, database: name });
  for (const statement of ddl) await conn.query(statement);
  await conn.query("INSERT INTO customers (id, name) VALUES ?", [customers]);
  for (let i = 0; i < appointments.length; i += 5000) await conn.query("INSERT INTO appointments (id, customer_id, phone, starts_at) VALUES ?", [appointments.slice(i, i + 5000)]);
  await conn.query("ANALYZE TABLE customers, appointments");
  return {
    credentials: { host: url.hostname, port: String(port), database: name, user, password, sslmode: "disable" },
    query: async (statement: string, params: unknown[]) => void (await conn.execute(statement, params as never[])),
    async drop() {
      await conn.query(`DROP DATABASE IF EXISTS ${name}`);
      await conn.end();
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), "flowyte-bench-integrations-"));
try {
  const database = await openDatabase({ databaseUrl: null, dataDir: dir, log });
  const sealer = createSealer(randomBytes(32));
  const signer = createOperationSigner(sealer);
  const registry = await loadPlugins({ pluginsDir: null, log });
  const connections = new IntegrationConnections({ db: database.db, sealer, registry, guard: createEgressGuard({ allowlist: ["127.0.0.1"] }), log, timeoutMs: 8000, plaintextHosts: ["127.0.0.1"] });
  console.log(`bound SQL read inside a chat turn (built-in brain, embedded store), ${TURNS} turns per database, ${ROWS} appointments, lookup by an indexed phone with a one-hop join`);

  for (const dialect of ["postgres", "mysql"] as Dialect[]) {
    const customerDb = await customerDatabase(dialect);
    try {
      const plugin = registry.get(dialect)!;
      const { organization } = await createOrganization(database.db, `Bench ${dialect}`);
      const connectionId = newId("icn");
      await database.db.insert(integrations).values({ organizationId: organization.id, kind: dialect, status: "connected", connectionId, sealedCredentials: connections.seal(customerDb.credentials), connectedAt: new Date() });
      const ctx = connections.context({ organizationId: organization.id, connectionId, kind: dialect, credentials: customerDb.credentials, timeoutMs: 60_000 });
      const schema = await plugin.discover!(ctx);
      ctx.dispose();
      const object = schema.objects.find((o) => o.name === "appointments")!;
      const binding: ValidatedBinding = {
        operation: schema.operations.find((o) => o.name === "appointments.select")!,
        object,
        isWrite: false,
        search: { field: "phone", param: "caller_phone", limit: 1 },
        inputs: [],
        values: [],
        key: null,
        projection: [
          { path: ["starts_at"], leaf: "start_time" },
          { path: ["customer_id", "name"], leaf: "customer_name" },
        ],
      };
      const compiled = plugin.compile!(binding);
      const principal = { organizationId: organization.id, actorType: "apiKey" as const, actorId: "bench", scopes: new Set<never>() };
      const agentsService = new AgentsService(database);
      const agent = await agentsService.create(principal, { name: `Bench ${dialect}` });
      await database.db.insert(skills).values({
        id: newId("skl"),
        organizationId: organization.id,
        agentId: agent.id,
        name: "lookup_appointment",
        description: "Look up the caller's appointment",
        skillType: "native_sql",
        parametersSchema: { type: "object", properties: { caller_phone: { type: "string" } }, required: ["caller_phone"] },
        requiredParams: ["caller_phone"],
        executionConfig: { integration: dialect, source: "binding", ...signer.sign(dialect, compiled) },
        dataEgressMap: {},
        allowedFields: ["start_time", "customer_name"],
        channels: [],
        errorHandling: {},
      });
      const [row] = await database.db.select().from(agents).where(eq(agents.id, agent.id));
      const agentConfig = await compileDraft(database.db, row!);
      const runner = createSkillRunner({ sealer, config: { egressAllowlist: ["127.0.0.1"], smtp: null }, geocoder: offlineGeocoder(), log, integrations: connections, signer });
      const store = new ConversationStore(database.db);

      let skillMs = 0;
      const timed: RunSkill = async (skill, args, c) => {
        const t0 = performance.now();
        const outcome = await runner(skill, args, c);
        skillMs = performance.now() - t0;
        if (outcome.kind !== "result" || outcome.data.customer_name !== `Customer ${((ROWS / 2) % 1000) + 1}`) throw new Error(`the lookup answered ${JSON.stringify(outcome)}`);
        return outcome;
      };
      const instant: RunSkill = async () => ({ kind: "result", data: { start_time: "2027-01-01T10:00:00Z", customer_name: "Customer 1" }, variables: {} });
      const runtimes = {
        bound: new ConversationRuntime({ store, runSkill: timed, llm: null, retriever: null, loadCompiled: async () => agentConfig, log }),
        instant: new ConversationRuntime({ store, runSkill: instant, llm: null, retriever: null, loadCompiled: async () => agentConfig, log }),
      };
      const turn = async (runtime: ConversationRuntime) => {
        const { conversationId } = await runtime.start({ organizationId: organization.id, agentId: agent.id, agentVersionId: null, draftMode: true, compiled: agentConfig, channel: "chat", source: "bench" });
        const t0 = performance.now();
        await runtime.turn(organization.id, conversationId, { type: "text", text: ASK });
        const took = performance.now() - t0;
        await runtime.end(organization.id, conversationId, "bench");
        return took;
      };

      const path: number[] = [];
      const own: number[] = [];
      const overhead: number[] = [];
      const turnBound: number[] = [];
      const turnInstant: number[] = [];
      const statement = compiled.statement as string;
      for (let i = 0; i < TURNS + 20; i++) {
        const bound = await turn(runtimes.bound);
        const q0 = performance.now();
        await customerDb.query(statement, [PHONE]);
        const queryMs = performance.now() - q0;
        const plain = await turn(runtimes.instant);
        if (i < 20) continue; // warm-up: JIT, pools, plans
        path.push(skillMs);
        own.push(queryMs);
        overhead.push(skillMs - queryMs);
        turnBound.push(bound);
        turnInstant.push(plain);
      }
      console.log(`${dialect}:`);
      console.log(`  integration path (skill runner → plugin → pooled read-only transaction)   p50 ${ms(pct(path, 50))}   p99 ${ms(pct(path, 99))}`);
      console.log(`  the database's own time for the same statement (peer, same run)          p50 ${ms(pct(own, 50))}   p99 ${ms(pct(own, 99))}`);
      console.log(`  added by the integration path, paired per turn                           p50 ${ms(pct(overhead, 50))}   p99 ${ms(pct(overhead, 99))}`);
      console.log(`  whole turn with the bound read                                           p50 ${ms(pct(turnBound, 50))}   p99 ${ms(pct(turnBound, 99))}`);
      console.log(`  whole turn, same skill answering at once                                 p50 ${ms(pct(turnInstant, 50))}   p99 ${ms(pct(turnInstant, 99))}`);
      await plugin.release?.(connectionId);
    } finally {
      await customerDb.drop();
    }
  }
  await database.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
