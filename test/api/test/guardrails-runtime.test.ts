// Runtime rules reached end to end through POST /agents/{id}/simulate with the built-in brain, on agents built
// over the real API: transfer skills, integration-backed skills that are not connected yet, playbook skills whose
// playbook was disabled, nested verified-only fields, webhook templates held to the skill's dataEgressMap, and a
// verifier that finds the caller's record by the calling number.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let webhook: ReturnType<typeof startWebhookTarget>;
beforeAll(async () => {
  webhook = startWebhookTarget((path, body) => {
    if (path === "/account") return { holder: "Ann Lee", account: { balance: "1234.56", plan: "Gold" } };
    if (path === "/verify") return { match: body?.caller_number === "+14155550123" && body?.pin === "4321" };
    return { message: "Done." };
  });
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
});
afterAll(async () => {
  await app.stop();
  webhook.stop();
});

const newBuilder = async () => agentBuilder(app, (await app.newOrg()).key);
const payloads = (events: { eventType: string; payload: any }[], type: string) => events.filter((e) => e.eventType === type).map((e) => e.payload);

describe("runtime rules through simulate", () => {
  it("runs a transfer skill end to end on a call, warm because the agent's handoff is warm and the skill does not say", async () => {
    const b = await newBuilder();
    const agent = await b.agent({ name: "Front desk", handoffConfig: { warm: true, transferDestination: "+14155550100" } });
    await b.skill(agent.id, { name: "billing_desk", description: "Send the caller to the billing department about an invoice", skillType: "transfer", executionConfig: { destination: "+14155550111" } });
    const result = await b.simulate(agent.id, { mode: "voice", transcript: ["I have a question about an invoice from billing"] });
    expect(result.status).toBe(200);
    expect(result.said).toContain("Let me connect you with someone who can help. Please hold.");
    expect(payloads(result.events, "tool_call")).toEqual([expect.objectContaining({ skillName: "billing_desk", skillType: "transfer", status: "ok", result: { action: "transfer" } })]);
    expect(payloads(result.events, "handoff")).toEqual([expect.objectContaining({ destination: "+14155550111", warm: true, channel: "voice" })]);
    expect(payloads(result.events, "call_ended")[0]).toMatchObject({ reason: "transferred", outcome: "transferred" });
  });

  it("answers clearly when an integration-backed skill is not connected, and the receipt says why", async () => {
    const b = await newBuilder();
    const agent = await b.agent({ name: "Orders" });
    await b.skill(agent.id, {
      name: "order_lookup",
      description: "Look up an order in the orders database",
      skillType: "db_query",
      executionConfig: { sql_template: "select status from orders where id = {order_id}" },
      errorHandling: { message: "I can't reach our order system right now; please try again later." },
    });
    const result = await b.simulate(agent.id, { transcript: ["look up my order in the database"] });
    expect(result.said[1]).toBe("I can't reach our order system right now; please try again later.");
    expect(payloads(result.events, "tool_call")).toEqual([expect.objectContaining({ skillName: "order_lookup", status: "error", errorCode: "integration_not_connected", error: "connect the postgres integration first" })]);
  });

  it("never goes silent when a playbook skill's playbook has been disabled", async () => {
    const b = await newBuilder();
    const agent = await b.agent({ name: "Visits" });
    const playbook = await b.playbook(
      agent.id,
      { name: "Visit", description: "a scripted visit booking" },
      {
        nodes: [
          { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
          { id: "e", type: "end", position: { x: 0, y: 1 }, data: { message: "Booked.", outcome: "completed" } },
        ],
        connections: [{ id: "1", source: "s", target: "e" }],
      },
    );
    await b.skill(agent.id, { name: "book_repair", description: "Book a repair appointment at home", skillType: "playbook", executionConfig: { playbookId: playbook.id } });
    await b.call("PATCH", `/api/v1/agents/${agent.id}/playbooks/${playbook.id}`, { isEnabled: false });
    const result = await b.simulate(agent.id, { transcript: ["book a repair appointment at home"] });
    expect(result.said.slice(1)).toEqual(["I'm sorry, I couldn't complete that just now."]);
    expect(payloads(result.events, "tool_call")[0]).toMatchObject({ skillName: "book_repair", status: "error", errorCode: "playbook_unavailable" });
    expect(payloads(result.events, "error")).toContainEqual(expect.objectContaining({ code: "playbook_unavailable" }));
  });

  it("withholds a nested verified-only field from an unverified caller and from the variables a webhook maps it into", async () => {
    const b = await newBuilder();
    const agent = await b.agent({ name: "Accounts" });
    await b.skill(agent.id, {
      name: "account_summary",
      description: "Read out the summary of the caller's account",
      skillType: "http_webhook",
      executionConfig: { url: `${webhook.url}/account`, method: "POST", response_mapping: { bal: "account.balance", tier: "account.plan" } },
    });
    await b.guardrails(agent.id, [{ policyType: "verify_before_disclose", config: { fields: [{ field: "balance", audience: "verified" }] } }]);
    const result = await b.simulate(agent.id, { transcript: ["read out my account summary"] });
    expect(result.said[1]).toBe("Here's what I found. holder: Ann Lee.");
    expect(result.raw).not.toContain("1234.56");
    expect(payloads(result.events, "tool_call")[0]!.result).toEqual({ holder: "Ann Lee", account: { plan: "Gold" } });
    const conversationId = result.events[0]!.conversationId;
    const [row] = await app.query<{ state: any }>(`select state from conversations where id = '${conversationId}'`);
    const state = typeof row!.state === "string" ? JSON.parse(row!.state) : row!.state;
    expect(state.variables.tier).toBe("Gold");
    expect(state.variables).not.toHaveProperty("bal");
  });

  it("sends the caller verifier the calling number as caller_number, so it can check the PIN against that number's record", async () => {
    const b = await newBuilder();
    const agent = await b.agent({ name: "Accounts desk" });
    await b.skill(agent.id, {
      name: "account_balance",
      description: "Tell the caller their account balance",
      skillType: "http_webhook",
      executionConfig: { url: `${webhook.url}/account`, method: "POST" },
      requiresVerifiedIdentity: true,
    });
    const verifier = await b.skill(agent.id, { name: "verify_pin", description: "Check a PIN against the record on file", skillType: "http_webhook", executionConfig: { url: `${webhook.url}/verify`, method: "POST" } });
    await b.verification(agent.id, [{ method: "account_pin", verifierSkillId: verifier.id, requiredFields: ["pin"] }]);
    const result = await b.simulate(agent.id, { mode: "voice", transcript: ["what is my account balance", "4321"], callerNumber: "+14155550123" });
    expect(result.said.slice(1, 4)).toEqual(["Before I can do that, I need to verify your identity. What is your PIN?", "Thank you, you're verified.", expect.stringContaining("holder: Ann Lee")]);
    expect(webhook.calls.findLast((c) => c.path === "/verify")!.body).toEqual({ caller_number: "+14155550123", pin: "4321", method: "account_pin" });
    expect(payloads(result.events, "verification").map((v) => v.status)).toEqual(["started", "passed"]);
  });

  it("refuses to fill a webhook template with a conversation variable the skill's dataEgressMap does not declare", async () => {
    const b = await newBuilder();
    const agent = await b.agent({ name: "CRM" });
    await b.skill(agent.id, {
      name: "find_customer",
      description: "Find the caller's customer record",
      skillType: "http_webhook",
      executionConfig: { url: `${webhook.url}/customers?phone={caller_number}`, method: "GET" },
      dataEgressMap: { customer_id: "CRM" },
    });
    const before = webhook.calls.filter((c) => c.path.startsWith("/customers")).length;
    const result = await b.simulate(agent.id, { transcript: ["find my customer record"], callerNumber: "+14155550199" });
    expect(webhook.calls.filter((c) => c.path.startsWith("/customers")).length).toBe(before);
    expect(result.raw).not.toContain("phone=%2B1415");
    expect(payloads(result.events, "tool_call")[0]).toMatchObject({ status: "blocked", errorCode: "data_egress_refused" });
    expect(payloads(result.events, "guardrail")).toContainEqual(expect.objectContaining({ policyType: "data_egress", decision: "blocked", fields: ["caller_number"] }));
    expect(result.said.length).toBeGreaterThan(1);
  });
});
