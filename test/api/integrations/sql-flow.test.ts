// The whole SQL database flow over the API, on the real Postgres and the real MariaDB of this machine, as the
// connect-sql-database guide walks it: generate the setup scripts, run them as the database's admin, test the
// connection with the generated login, connect, discover, scope out a column, bind a read and a write, publish, and
// have a conversation look up the caller's appointment and book one with confirmation — directly and through a
// playbook. Credentials never come back, and another organization sees none of it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createLogger } from "../../../src/platform/log.ts";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { DIALECTS, type Fixture, fixture } from "../../integrations/sql/support.ts";

let app: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1", SQL_PLAINTEXT_HOSTS: "127.0.0.1", LOG_LEVEL: "debug" }, { log: createLogger("debug", (line) => logLines.push(line)) });
});
afterAll(() => app?.stop());

const CALLER = "+14155550100";

/** A small clinic's database: customers, appointments by phone (indexed), with one of the caller's already booked. */
async function clinic(f: Fixture) {
  if (f.dialect === "postgres") {
    await f.admin.exec(`
      CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text, phone text NOT NULL);
      CREATE INDEX customers_phone ON customers (phone);
      CREATE TABLE appointments (id serial PRIMARY KEY, customer_id int REFERENCES customers (id), phone text NOT NULL, starts_at timestamptz NOT NULL, status text NOT NULL DEFAULT 'booked');
      CREATE INDEX appointments_phone ON appointments (phone);
    `);
  } else {
    await f.admin.exec(`
      CREATE TABLE customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200), phone varchar(40) NOT NULL, INDEX customers_phone (phone));
      CREATE TABLE appointments (id int AUTO_INCREMENT PRIMARY KEY, customer_id int, phone varchar(40) NOT NULL, starts_at datetime NOT NULL, status varchar(20) NOT NULL DEFAULT 'booked',
        INDEX appointments_phone (phone), CONSTRAINT appointments_customer FOREIGN KEY (customer_id) REFERENCES customers (id));
    `);
  }
  await f.admin.exec(`
    INSERT INTO customers (name, email, phone) VALUES ('Grace Hopper', 'grace@example.com', '${CALLER}'), ('Edsger Dijkstra', 'edsger@example.com', '+14155550111');
    INSERT INTO appointments (customer_id, phone, starts_at) VALUES (1, '${CALLER}', '2027-03-01 09:30:00'), (2, '+14155550111', '2027-03-02 14:00:00');
  `);
}

for (const dialect of DIALECTS) {
  describe(`${dialect}: the SQL database flow`, () => {
    let f: Fixture;
    let key: string;
    let password: string;
    let credentials: Record<string, unknown>;
    const responses: string[] = [];
    const api = async (method: string, path: string, body?: unknown, as = key) => {
      const res = await app.api(method, `/api/v1${path}`, { key: as, body });
      responses.push(JSON.stringify(res.body));
      return res;
    };

    beforeAll(async () => {
      f = await fixture(dialect);
      await clinic(f);
      ({ key } = await app.newOrg(`Clinic on ${dialect}`));
    });
    afterAll(() => f?.cleanup());

    it("generates setup scripts that the admin runs, and the generated logins pass the connection test", async () => {
      // The one answer that carries the password: the operator needs it once, to run the scripts.
      const scripts = await app.api("GET", `/api/v1/integrations/${dialect}/sql/scripts?database=${f.database}&tables=appointments&suffix=${f.suffix}`, { key });
      expect(scripts.status).toBe(200);
      const { readOnly, write, generatedPassword } = scripts.body.data;
      expect(generatedPassword).toMatch(/^[A-Za-z0-9_-]{24,}$/);
      password = generatedPassword;
      await f.admin.exec(readOnly.sql);
      await f.admin.exec(write.sql);

      const ro = await api("POST", `/integrations/${dialect}/sql/test`, { credentials: f.credentials(readOnly.user, password) });
      expect(ro.status).toBe(200);
      expect(ro.body.data.ok).toBe(true);
      expect(ro.body.data.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok])).toEqual([
        ["reachability", true],
        ["authentication", true],
        ["schema_read", true],
        ["read_probe", true],
        ["read_only", true],
        ["latency", true],
      ]);
      // A login the database refuses is a failed check in a 200 answer, not an error. (An unknown login: this
      // machine's Postgres trusts local connections whatever the password.)
      const wrong = await api("POST", `/integrations/${dialect}/sql/test`, { credentials: f.credentials(`nobody_${f.suffix}`, "not-the-password-at-all") });
      expect(wrong.status).toBe(200);
      expect(wrong.body.data.ok).toBe(false);
      expect(wrong.body.data.checks.find((c: { name: string }) => c.name === "authentication").ok).toBe(false);

      credentials = f.credentials(write.user, password);
    });

    it("connects with the write login, refuses plaintext to a host the operator did not list, and never echoes credentials", async () => {
      const refused = await api("POST", `/integrations/${dialect}/connect`, { credentials: { ...credentials, host: "localhost" } });
      expect(refused.status).toBe(400);
      const connected = await api("POST", `/integrations/${dialect}/connect`, { credentials });
      expect(connected.status).toBe(200);
      expect(connected.body.data).toEqual({ status: "connected" });
      const list = await api("GET", "/integrations");
      expect(list.body.data.find((r: { kind: string }) => r.kind === dialect)).toMatchObject({ status: "connected", accountLabel: expect.stringContaining(f.database) });
    });

    it("discovers the schema, and a scoped-out column vanishes from browsing and search", async () => {
      const discovered = await api("POST", `/integrations/${dialect}/discover`, {});
      expect(discovered.status).toBe(200);
      expect(discovered.body.data).toMatchObject({ objectCount: 2, edgeCount: 1 });
      expect((await api("GET", `/integrations/${dialect}/objects/customers`)).body.data.fields.map((x: { name: string }) => x.name)).toContain("email");

      expect((await api("PATCH", `/integrations/${dialect}/scoping`, { blockedTables: [], blockedColumns: ["customers.email"] })).status).toBe(200);
      const customers = await api("GET", `/integrations/${dialect}/objects/customers`);
      expect(customers.body.data.fields.map((x: { name: string }) => x.name)).not.toContain("email");
      const search = await api("GET", `/integrations/${dialect}/schema/search?q=email`);
      expect(JSON.stringify(search.body.data)).not.toContain('"email"');
      // Re-discovery keeps the scoping.
      await api("POST", `/integrations/${dialect}/discover`, {});
      expect((await api("GET", `/integrations/${dialect}/scoping`)).body.data).toEqual({ blockedTables: [], blockedColumns: ["customers.email"] });
      expect(JSON.stringify((await api("GET", `/integrations/${dialect}/schema`)).body.data)).not.toContain('"email"');
    });

    let agentId: string;
    it("binds a read and a write: the write lands disabled and gated, a blocked column is refused", async () => {
      const b = agentBuilder(app, key);
      const agent = await b.agent({ name: "Clinic desk", greeting: "Hello, this is the clinic." });
      agentId = agent.id;
      const readBinding = {
        toolName: "find_appointment",
        description: "Look up the caller's next appointment",
        operation: "appointments.select",
        sqlSearch: { column: "phone", param: "caller_phone", limit: 1 },
        projection: [
          { path: "starts_at", leaf: "start_time" },
          { path: ["customer_id", "name"], leaf: "customer_name" },
        ],
      };
      const blocked = await api("POST", `/agents/${agentId}/integrations/${dialect}/bindings`, { ...readBinding, toolName: "leak_email", projection: [{ path: ["customer_id", "email"], leaf: "email" }] });
      expect(blocked.status).toBe(400);
      expect(blocked.body.code).toBe("validation_error");

      const read = await api("POST", `/agents/${agentId}/integrations/${dialect}/bindings`, readBinding);
      expect(read.status).toBe(200);
      expect(read.body.data).toMatchObject({ name: "find_appointment", skillType: "native_sql", isWrite: false, isEnabled: true, allowedFields: ["start_time", "customer_name"], requiredParams: ["caller_phone"] });
      expect(JSON.stringify(read.body.data)).not.toContain(password);

      const write = await api("POST", `/agents/${agentId}/integrations/${dialect}/bindings`, {
        toolName: "book_appointment",
        description: "Book a new appointment for the caller",
        operation: "appointments.insert",
        isWrite: true,
        enabled: true,
        inputObjectMap: [
          { param: "caller_phone", field: "phone" },
          { param: "appointment_datetime", field: "starts_at" },
          { constant: "booked", field: "status" },
        ],
        projection: [{ path: "id", leaf: "appointment_id" }],
      });
      expect(write.status).toBe(200);
      expect(write.body.data).toMatchObject({ isWrite: true, isEnabled: false, requiresConfirmation: true, nonParallelizable: true });
      // The operator reviews it and turns it on.
      expect((await api("PATCH", `/agents/${agentId}/skills/${write.body.data.id}`, { isEnabled: true })).status).toBe(200);
      expect((await api("POST", `/agents/${agentId}/publish`, {})).status).toBeLessThan(300);
    });

    it("a conversation looks up the caller's appointment and books one after the caller confirms", async () => {
      const b = agentBuilder(app, key);
      const run = await b.simulate(agentId, {
        draftMode: false,
        transcript: [
          "When is my next appointment? My number is 415 555 0100",
          "Please book a new appointment for March 9 2027 at 3pm, my number is 415 555 0100",
          "yes",
        ],
      });
      expect(run.status).toBe(200);
      const calls = run.events.filter((e) => e.eventType === "tool_call").map((e) => e.payload);
      expect(calls[0]).toMatchObject({ integration: dialect, operation: "appointments.select", arguments: { caller_phone: CALLER }, status: "ok", result: { customer_name: "Grace Hopper" } });
      expect(run.said.join(" ")).toContain("Grace Hopper");
      expect(calls[1]).toMatchObject({ integration: dialect, operation: "appointments.insert", status: "ok" });
      expect(typeof calls[1].result.appointment_id).toBe("number");
      const booked = await f.admin.query("SELECT phone, status FROM appointments WHERE id = " + Number(calls[1].result.appointment_id));
      expect(booked).toEqual([{ phone: CALLER, status: "booked" }]);
      expect(run.raw).not.toContain(password);
    });

    it("the same lookup runs as a playbook step", async () => {
      const b = agentBuilder(app, key);
      const skills = (await api("GET", `/agents/${agentId}/skills`)).body.data as { id: string; name: string }[];
      const find = skills.find((s) => s.name === "find_appointment")!;
      await b.playbook(
        agentId,
        { name: "Appointment check", description: "check my appointment time" },
        {
          nodes: [
            { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
            { id: "phone", type: "collect", position: { x: 0, y: 1 }, data: { variable: "caller_phone", prompt: "What number is the booking under?", slotType: "phone" } },
            { id: "find", type: "skill", position: { x: 0, y: 2 }, data: { skillId: find.id, inputs: { caller_phone: "{caller_phone}" }, outputs: { customer_name: "customer_name", start_time: "start_time" } } },
            { id: "done", type: "end", position: { x: 0, y: 3 }, data: { message: "{customer_name}, you are booked for {start_time}.", outcome: "completed" } },
            { id: "none", type: "end", position: { x: 1, y: 3 }, data: { message: "I could not find a booking under that number.", outcome: "completed" } },
          ],
          connections: [
            { id: "1", source: "s", target: "phone" },
            { id: "2", source: "phone", target: "find" },
            { id: "3", source: "find", target: "done", sourceHandle: "success" },
            { id: "4", source: "find", target: "none", sourceHandle: "error" },
          ],
        },
      );
      const run = await b.simulate(agentId, { transcript: ["I want to check my appointment time", "415 555 0100"] });
      expect(run.said.join(" ")).toContain("Grace Hopper, you are booked for");
      const miss = await b.simulate(agentId, { transcript: ["I want to check my appointment time", "415 555 0177"] });
      expect(miss.said.join(" ")).toContain("I could not find a booking under that number.");
    });

    it("runs an operator's own db_query template, its placeholders bound as parameters, read-only", async () => {
      const b = agentBuilder(app, key);
      const agent = await b.agent({ name: "Template desk", greeting: "Hi." });
      await b.skill(agent.id, {
        name: "count_visits",
        description: "Count how many visits the caller has booked",
        skillType: "db_query",
        parametersSchema: { type: "object", properties: { caller_phone: { type: "string" } }, required: ["caller_phone"] },
        requiredParams: ["caller_phone"],
        executionConfig: { integration: dialect, sql_template: "SELECT COUNT(*) AS visits FROM appointments WHERE phone = {caller_phone}" },
      });
      const run = await b.simulate(agent.id, { transcript: ["Count how many visits I have booked, my number is 415 555 0100"] });
      const call = run.events.find((e) => e.eventType === "tool_call")!;
      expect(call.payload).toMatchObject({ integration: dialect, operation: "query", status: "ok" });
      expect(Number(call.payload.result.visits)).toBe(2);
    });

    it("a column scoped out after the binding was saved never reaches a conversation", async () => {
      expect((await api("PATCH", `/integrations/${dialect}/scoping`, { blockedTables: [], blockedColumns: ["customers.email", "customers.name"] })).status).toBe(200);
      const run = await agentBuilder(app, key).simulate(agentId, { transcript: ["When is my next appointment? My number is 415 555 0100"] });
      const call = run.events.find((e) => e.eventType === "tool_call")!;
      expect(call.payload).toMatchObject({ operation: "appointments.select", status: "error", errorCode: "scoped_out" });
      expect(run.raw).not.toContain("Grace");
      expect((await api("PATCH", `/integrations/${dialect}/scoping`, { blockedTables: [], blockedColumns: ["customers.email"] })).status).toBe(200);
      const again = await agentBuilder(app, key).simulate(agentId, { transcript: ["When is my next appointment? My number is 415 555 0100"] });
      expect(again.said.join(" ")).toContain("Grace Hopper");
    });

    it("keeps the credentials out of every answer and log line, and another organization gets 404 everywhere", async () => {
      for (const text of [...responses, logLines.join("\n")]) expect(text).not.toContain(password);
      const other = await app.newOrg("Another clinic");
      const paths: [string, string, unknown?][] = [
        ["POST", `/integrations/${dialect}/discover`, {}],
        ["GET", `/integrations/${dialect}/schema`],
        ["GET", `/integrations/${dialect}/objects`],
        ["GET", `/integrations/${dialect}/objects/customers`],
        ["GET", `/integrations/${dialect}/operations`],
        ["GET", `/integrations/${dialect}/schema/search?q=phone`],
        ["DELETE", `/integrations/${dialect}`],
        ["POST", `/agents/${agentId}/integrations/${dialect}/provision`, {}],
        ["DELETE", `/agents/${agentId}/integrations/${dialect}/provision`],
        ["POST", `/agents/${agentId}/integrations/${dialect}/bindings`, { toolName: "x", operation: "appointments.select" }],
        ["POST", `/agents/${agentId}/integrations/${dialect}/bindings/auto`, { goal: "look up appointments by phone" }],
      ];
      for (const [method, path, body] of paths) {
        const res = await app.api(method, `/api/v1${path}`, { key: other.key, body });
        // The agent is another organization's: 404. The integration routes answer for the caller's own organization,
        // where nothing is connected: 409 integration_not_connected or 404, and never the first organization's data.
        const expected = path.startsWith("/agents/") ? [404] : [404, 409];
        expect({ path, status: res.status, ok: expected.includes(res.status) }).toEqual({ path, status: res.status, ok: true });
        expect(JSON.stringify(res.body)).not.toContain("Grace");
      }
      // The other organization's view of the catalog says nothing is connected.
      const catalog = await app.api("GET", "/api/v1/integrations/catalog", { key: other.key });
      expect(catalog.body.data.find((c: { kind: string }) => c.kind === dialect).connected).toBe(false);
    });
  });
}
