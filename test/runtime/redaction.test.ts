// With redactPii on, the raw card number and e-mail once stayed in conversations.state after the session ended, and a
// failed query was logged with all its parameters. A caller gives both over the chat API and the widget, through a
// playbook slot, a confirmation and a skill that echoes them back; then every table of the database (found, not
// listed) and every line the server logged are searched for them.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { meterUsage } from "../../src/api/billing/metering.ts";
import { createLogger } from "../../src/platform/log.ts";
import { agentBuilder, startWebhookTarget } from "../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../support/app.ts";

const CARD = "4111 1111 1111 1111"; // Luhn-valid
const CARD_DIGITS = CARD.replace(/ /g, "");
const EMAIL = "ann.payer@example.com";
const RAW = [CARD, CARD_DIGITS, EMAIL];
const SITE = "https://shop.example.com";

const logged: string[] = [];
const webhook = startWebhookTarget((_path, body) => ({ status: "paid", card: body?.card_number, receipt_to: body?.email }));
let app: TestApp;
let key: string;
let agentId: string;
beforeAll(async () => {
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" }, { log: createLogger("debug", (line) => logged.push(line)) });
  ({ key } = await app.newOrg());
  const b = agentBuilder(app, key);
  agentId = (await b.agent({ name: "Billing desk", greeting: "Hi, this is billing." })).id;
  await b.guardrails(agentId, [{ policyType: "content_policy", config: { redactPii: true } }]);
  const skill = await b.skill(agentId, {
    name: "take_payment",
    description: "Charge a card for a bill",
    skillType: "http_webhook",
    parametersSchema: { type: "object", properties: { card_number: { type: "string" }, email: { type: "string" } }, required: ["card_number", "email"] },
    requiredParams: ["card_number", "email"],
    executionConfig: { url: `${webhook.url}/pay`, method: "POST", timeout_ms: 2000 },
    isWrite: true,
  });
  await b.playbook(
    agentId,
    { name: "Card payment", description: "pay a bill by card" },
    {
      nodes: [
        { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
        { id: "card", type: "collect", position: { x: 0, y: 1 }, data: { variable: "card_number", prompt: "What's the card number?", slotType: "text" } },
        { id: "mail", type: "collect", position: { x: 0, y: 2 }, data: { variable: "email", prompt: "Where should the receipt go?", slotType: "email" } },
        { id: "ok", type: "confirm", position: { x: 0, y: 3 }, data: { prompt: "Shall I charge {card_number} and send the receipt to {email}?" } },
        { id: "pay", type: "skill", position: { x: 0, y: 3 }, data: { skillId: skill.id, inputs: { card_number: "{card_number}", email: "{email}" }, outputVariable: "payment" } },
        { id: "paid", type: "message", position: { x: 0, y: 4 }, data: { text: "Paid with {card_number}. The receipt goes to {email}." } },
        { id: "e", type: "end", position: { x: 0, y: 5 }, data: { outcome: "completed" } },
        { id: "no", type: "end", position: { x: 1, y: 4 }, data: { message: "Okay, no charge.", outcome: "abandoned" } },
      ],
      connections: [
        { id: "1", source: "s", target: "card" },
        { id: "2", source: "card", target: "mail" },
        { id: "3", source: "mail", target: "ok" },
        { id: "3y", source: "ok", target: "pay", sourceHandle: "yes" },
        { id: "3n", source: "ok", target: "no", sourceHandle: "no" },
        { id: "4", source: "pay", target: "paid", sourceHandle: "success" },
        { id: "5", source: "paid", target: "e" },
      ],
    },
  );
  await b.publish(agentId);
});
afterAll(async () => {
  await app.stop();
  webhook.stop();
});

/** Every row of every table in every schema (pg-boss's included), as text, that holds one of `values`. */
async function rowsHolding(values: string[]): Promise<{ hits: string[]; tables: number; rows: number }> {
  const tables = await app.query<{ schema: string; name: string }>(
    "select table_schema as schema, table_name as name from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')",
  );
  const hits: string[] = [];
  let rows = 0;
  for (const t of tables) {
    for (const { row } of await app.query<{ row: string }>(`select t::text as row from "${t.schema}"."${t.name}" t`)) {
      rows++;
      if (values.some((v) => row.toLowerCase().includes(v.toLowerCase()))) hits.push(`${t.schema}.${t.name}: ${row.slice(0, 400)}`);
    }
  }
  return { hits, tables: tables.length, rows };
}

const say = (sessionId: string, content: string) => app.api("POST", `/api/v1/chat/sessions/${sessionId}/messages`, { key, body: { content } });
const said = (res: { body: { data: { messages: { content: string }[] } } }) => res.body.data.messages.map((m) => m.content).join(" ");

describe("redactPii keeps the raw value out of storage and logs", () => {
  it("stores no raw card number or e-mail in any table after a chat session and a widget conversation, though the skill got them", async () => {
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId, metadata: { contact: EMAIL } } })).body.data;
    expect(said(await say(session.id, "I want to pay a bill by card"))).toContain("card number");
    expect(said(await say(session.id, CARD))).toContain("receipt");
    // Asked to confirm, quoting the values back: the caller hears them, the transcript keeps neither.
    expect(said(await say(session.id, EMAIL))).toContain(CARD);
    expect(said(await say(session.id, "yes"))).toContain(`The receipt goes to ${EMAIL}`);
    // Used during the session: the skill received the raw values.
    expect(webhook.calls.map((c) => c.body)).toContainEqual({ card_number: CARD, email: EMAIL });
    const free = await say(session.id, `Also note my card ${CARD} and mail me at ${EMAIL} if you need anything?`);
    expect(free.status).toBe(200);
    expect((await app.api("POST", `/api/v1/chat/sessions/${session.id}/end`, { key })).status).toBe(200);

    const pk = (await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, { key, body: { name: "Shop", allowedOrigins: [SITE], rateLimitRpm: 6000 } })).body.data;
    const widget = (path: string, body: unknown) => app.api("POST", `/api/v1/chat/widget${path}`, { key: pk.keyPublic, body, headers: { origin: SITE } });
    const visitor = (await widget("/sessions", {})).body.data;
    const send = (content: string, clientMessageId: string) => widget(`/sessions/${visitor.conversationId}/messages`, { content, visitorToken: visitor.visitorToken, clientMessageId });
    expect((await send("I want to pay a bill by card", "m1")).status).toBe(200);
    expect((await send(CARD, "m2")).status).toBe(200);
    // Kept for repeats (idempotency record) as stored: redacted.
    const kept = await send(EMAIL, "m3");
    expect(kept.status).toBe(200);
    const repeat = await send(EMAIL, "m3");
    expect(repeat.headers.get("idempotent-replayed")).toBe("true");
    expect(JSON.stringify(repeat.body)).not.toContain(EMAIL);

    // Usage items too, as the minutely job makes them.
    await meterUsage({ db: app.server.database.db, rates: app.config.usageRates, log: createLogger("error", (line) => logged.push(line)) });
    expect(await app.query(`select id from usage_items where conversation_id = '${session.id}'`)).toHaveLength(1);

    const scan = await rowsHolding(RAW);
    expect(scan.hits).toEqual([]);
    // The scan saw the conversations: their redacted forms are there.
    expect(scan.tables).toBeGreaterThan(10);
    expect((await rowsHolding(["[card number]"])).hits.some((h) => h.startsWith("public.conversations:"))).toBe(true);
    expect((await rowsHolding(["[email]"])).hits.some((h) => h.startsWith("public.conversation_messages:"))).toBe(true);
    expect(logged.join("\n")).not.toContain(CARD_DIGITS);
    for (const value of RAW) expect(logged.join("\n")).not.toContain(value);
  });

  it("resumes a conversation from storage after a restart with the placeholder where the raw value was", async () => {
    const session = (await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId } })).body.data;
    await say(session.id, "I want to pay a bill by card");
    await say(session.id, CARD);
    await app.restart();
    // The card number was only ever stored redacted; the e-mail was just said, so it is still in memory.
    expect(said(await say(session.id, EMAIL))).toBe(`Shall I charge [card number] and send the receipt to ${EMAIL}?`);
    expect((await rowsHolding(RAW)).hits).toEqual([]);
  });

  it("logs a failed query without its parameters: no card number in the line", async () => {
    await app.query("alter table conversation_messages rename column content to content_gone");
    try {
      const failed = await app.api("GET", `/api/v1/conversations?q=${CARD_DIGITS}`, { key });
      expect(failed.status).toBe(500);
    } finally {
      await app.query("alter table conversation_messages rename column content_gone to content");
    }
    const line = logged.find((l) => l.includes("unhandled error") && l.includes("content"));
    expect(line).toBeDefined();
    expect(line).toContain("Failed query");
    expect(line).not.toContain("params");
    expect(line).not.toContain(CARD_DIGITS);
  });
});
