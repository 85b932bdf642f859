// Guardrail policies with the built-in brain: caller verification before a protected skill, content policy
// (banned topics, PII redaction in stored transcripts, escalation after negative turns) and the lexicon.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let webhook: ReturnType<typeof startWebhookTarget>;
beforeAll(async () => {
  webhook = startWebhookTarget((path, body) => {
    if (path === "/verify") return { match: body.dob === "1990-03-05" && body.postcode === "SW1A 1AA" };
    if (path === "/balance") return { balance: "42.00" };
    return {};
  });
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
});
afterAll(async () => {
  await app.stop();
  webhook.stop();
});

async function verifiedAgent() {
  const b = agentBuilder(app, (await app.newOrg()).key);
  const agent = await b.agent({ name: "Bank line" });
  await b.skill(agent.id, {
    name: "account_balance",
    description: "Tell the caller their account balance",
    skillType: "http_webhook",
    parametersSchema: { type: "object", properties: {} },
    executionConfig: { url: `${webhook.url}/balance`, method: "POST" },
    requiresVerifiedIdentity: true,
  });
  const verifier = await b.skill(agent.id, {
    name: "verify_caller",
    description: "Check a caller's date of birth and postcode against the customer record",
    skillType: "http_webhook",
    parametersSchema: { type: "object", properties: { dob: { type: "string" }, postcode: { type: "string" } } },
    executionConfig: { url: `${webhook.url}/verify`, method: "POST" },
    channels: ["voice"], // reached only through verification, never by matching what a chat caller says
  });
  await b.verification(agent.id, [{ method: "dob_postcode", verifierSkillId: verifier.id, maxAttempts: 2 }]);
  return { b, agent };
}

const verificationEvents = (events: { eventType: string; payload: any }[]) => events.filter((e) => e.eventType === "verification").map((e) => e.payload.status);

describe("caller verification", () => {
  it("verifies the caller before a protected skill runs, then runs it", async () => {
    const { b, agent } = await verifiedAgent();
    const before = webhook.calls.filter((c) => c.path === "/balance").length;
    const result = await b.simulate(agent.id, { transcript: ["what is my account balance", "March 5th 1990", "SW1A 1AA"] });
    expect(result.said.slice(1)).toEqual([
      "Before I can do that, I need to verify your identity. What is your date of birth?",
      "Thanks. And your postcode?",
      "Thank you, you're verified.",
      "Here's what I found. balance: 42.00.",
    ]);
    expect(verificationEvents(result.events)).toEqual(["started", "passed"]);
    expect(webhook.calls.filter((c) => c.path === "/balance").length).toBe(before + 1);
    // The secrets go to the verifier only; the receipt names the fields, never their values.
    expect(result.raw).not.toContain("1990-03-05");
    const verifierCall = webhook.calls.findLast((c) => c.path === "/verify")!;
    expect(verifierCall.body).toMatchObject({ dob: "1990-03-05", postcode: "SW1A 1AA", method: "dob_postcode" });
  });

  it("locks after the allowed attempts and never runs the protected skill", async () => {
    const { b, agent } = await verifiedAgent();
    const before = webhook.calls.filter((c) => c.path === "/balance").length;
    const result = await b.simulate(agent.id, { transcript: ["what is my account balance", "1 January 1980", "SW1A 1AA", "2 February 1981", "SW1A 1AA", "what is my account balance"] });
    expect(verificationEvents(result.events)).toEqual(["started", "failed", "locked"]);
    expect(result.said).toContain("I'm sorry, I couldn't verify your identity, so I can't help with that here.");
    expect(result.said.at(-1)).toBe("I'm not able to verify you right now, so I can't do that.");
    expect(webhook.calls.filter((c) => c.path === "/balance").length).toBe(before);
  });
});

describe("content policy and lexicon", () => {
  it("declines banned topics, offers a person after negative turns, redacts stored PII and never says banned words", async () => {
    const b = agentBuilder(app, (await app.newOrg()).key);
    const agent = await b.agent({
      name: "Careful",
      greeting: "Hi! We guarantee a great experience. How can I help?",
      lexicon: { banned: ["guarantee"] },
      handoffConfig: { transferDestination: "+14155550100" },
    });
    await b.guardrails(agent.id, [{ policyType: "content_policy", config: { bannedTopics: ["politics"], redactPii: true, escalationThreshold: 2 } }]);
    const result = await b.simulate(agent.id, {
      transcript: ["what do you think about politics?", "my email is ann@example.com and I am angry and frustrated", "this is terrible, awful service", "yes"],
    });
    expect(result.said[0]).toBe("Hi! We a great experience. How can I help?");
    expect(result.said[1]).toBe("I'm sorry, that's not something I can help with. Is there anything else?");
    expect(result.said[3]).toBe("I'm sorry this has been frustrating. Would you like me to connect you with a person?");
    expect(result.events.find((e) => e.eventType === "handoff")!.payload.destination).toBe("+14155550100");
    const decisions = result.events.filter((e) => e.eventType === "guardrail").map((e) => `${e.payload.policyType}:${e.payload.decision}`);
    expect(decisions).toEqual(expect.arrayContaining(["lexicon:redacted", "content_policy:blocked", "content_policy:escalated"]));

    const conversationId = result.events[0]!.conversationId;
    const stored = await app.query<{ content: string }>(`select content from conversation_messages where conversation_id = '${conversationId}' order by id`);
    expect(stored.map((m) => m.content)).toContain("my email is [email] and I am angry and frustrated");
    expect(JSON.stringify(stored)).not.toContain("ann@example.com");
    const events = await app.query<{ payload: unknown }>(`select payload from conversation_events where conversation_id = '${conversationId}'`);
    expect(JSON.stringify(events)).not.toContain("ann@example.com");
  });
});

describe("data egress", () => {
  it("sends a skill only the fields its dataEgressMap declares", async () => {
    const b = agentBuilder(app, (await app.newOrg()).key);
    const agent = await b.agent({ name: "Egress" });
    const skill = await b.skill(agent.id, {
      name: "log_issue",
      description: "Log the issue in the ticket system",
      skillType: "http_webhook",
      parametersSchema: { type: "object", properties: { problem: { type: "string" }, internal_note: { type: "string" } } },
      executionConfig: { url: `${webhook.url}/issues`, method: "POST" },
      dataEgressMap: { problem: "ticket system" },
    });
    await b.playbook(
      agent.id,
      { name: "Report", description: "report a problem with the service" },
      {
        nodes: [
          { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
          { id: "k", type: "skill", position: { x: 0, y: 1 }, data: { skillId: skill.id, inputs: { problem: "leak", internal_note: "caller sounded like a VIP" } } },
          { id: "e", type: "end", position: { x: 0, y: 2 }, data: { message: "Logged.", outcome: "completed" } },
        ],
        connections: [
          { id: "1", source: "s", target: "k" },
          { id: "2", source: "k", target: "e" },
        ],
      },
    );
    const result = await b.simulate(agent.id, { transcript: ["I want to report a problem with the service"] });
    expect(result.said).toContain("Logged.");
    expect(webhook.calls.findLast((c) => c.path === "/issues")!.body).toEqual({ problem: "leak" });
    expect(result.events.filter((e) => e.eventType === "guardrail").map((e) => e.payload)).toContainEqual(
      expect.objectContaining({ policyType: "data_egress", decision: "redacted", fields: ["internal_note"] }),
    );
  });
});
