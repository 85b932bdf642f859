// The pre-publish report over HTTP: an agent configured through the API (skills, playbooks, guardrails, caller
// verification, business hours) and the report read back, line by line, against what the runtime enforces.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
});
afterAll(() => app.stop());

type Report = { summary: string; willSay: string[]; wontSay: string[]; dataEgress: { skillId: string; skillName: string; fields: string[]; destination: string }[]; guardrails: { policyType: string; summary: string }[]; knowledgeCoverage: Record<string, unknown>; warnings: string[] };

async function newAgent(body: Record<string, unknown>) {
  const res = await app.api("POST", "/api/v1/agents", { key, body });
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

async function addSkill(agentId: string, body: Record<string, unknown>) {
  const res = await app.api("POST", `/api/v1/agents/${agentId}/skills`, { key, body: { channels: ["voice", "chat"], ...body } });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; name: string };
}

async function put(path: string, body: unknown) {
  const res = await app.api("PUT", path, { key, body });
  expect(res.status).toBe(200);
  return res.body.data;
}

async function reportOf(agentId: string): Promise<Report> {
  const res = await app.api("GET", `/api/v1/agents/${agentId}/prepublish-report`, { key });
  expect(res.status).toBe(200);
  return res.body.data;
}

const webhook = (name: string, description: string, url: string, more: Record<string, unknown> = {}) => ({
  name,
  description,
  skillType: "http_webhook",
  parametersSchema: { type: "object", properties: { order_number: { type: "string" } }, required: ["order_number"] },
  executionConfig: { url, method: "POST" },
  ...more,
});

const node = (id: string, type: string, data: Record<string, unknown> = {}) => ({ id, type, position: { x: 0, y: 0 }, data });
const link = (id: string, source: string, target: string, sourceHandle: string | null = null) => ({ id, source, target, sourceHandle, targetHandle: null });

describe("pre-publish report of a fully configured agent", () => {
  let agentId: string;
  let report: Report;
  const skill: Record<string, { id: string; name: string }> = {};

  beforeAll(async () => {
    agentId = await newAgent({
      name: "Service desk",
      goals: ["book repair visits"],
      neverDo: ["promise same-day repairs"],
      lexicon: { banned: ["cheap"] },
      handoffConfig: { transferDestination: "+14155550100", warm: true },
      businessHours: {
        timezone: "America/New_York",
        weekly: { monday: [{ start: "09:00", end: "17:00" }], tuesday: [{ start: "09:00", end: "17:00" }] },
        holidays: [{ date: "2025-12-25", name: "Christmas" }],
        afterHours: { mode: "take_message", allowHumanTransfer: true, number: "+14155550111", emergencyNumber: "+14155550199" },
      },
    });
    skill.lookup = await addSkill(agentId, webhook("Look up order", "Looks up an order's status.", "https://orders.example.com/orders/{order_number}", { allowedFields: ["status", "eta", "balance", "card_number"] }));
    skill.cancel = await addSkill(agentId, webhook("Cancel order", "Cancels an order", "https://orders.example.com/cancel", { isWrite: true, channels: ["voice"] }));
    skill.refund = await addSkill(agentId, webhook("Issue refund", "Refunds an order", "https://orders.example.com/refund", { isWrite: true }));
    skill.summary = await addSkill(agentId, {
      name: "Email the team",
      description: "Emails the team a summary of the call",
      skillType: "email",
      parametersSchema: { type: "object", properties: { caller_name: { type: "string" }, message: { type: "string" }, card_number: { type: "string" } } },
      executionConfig: { to: "team@example.com", subject: "Call from {caller_name}" },
      dataEgressMap: { caller_name: "team inbox", message: "team inbox" },
    });
    skill.billing = await addSkill(agentId, { name: "Billing line", description: "Transfers billing questions", skillType: "transfer", executionConfig: { destination: "+14155550122" } });

    const playbook = (await app.api("POST", `/api/v1/agents/${agentId}/playbooks`, { key, body: { name: "Repair visit", description: "Books a repair visit." } })).body.data;
    await put(`/api/v1/agents/${agentId}/playbooks/${playbook.id}/graph`, {
      flowId: playbook.flowId,
      nodes: [
        node("start", "start"),
        node("problem", "collect", { variable: "problem", prompt: "What is wrong?", slotType: "text" }),
        node("address", "collect", { variable: "street_address", prompt: "What is the address?", slotType: "address" }),
        node("ok", "confirm", { prompt: "Book a visit to {street_address}?" }),
        node("lookup", "skill", { skillId: skill.lookup!.id, inputs: { order_number: "{problem}" } }),
        node("end", "end", { outcome: "completed" }),
      ],
      connections: [link("c0", "start", "problem"), link("c1", "problem", "address"), link("c2", "address", "ok"), link("c3", "ok", "lookup", "yes"), link("c4", "ok", "end", "no"), link("c5", "lookup", "end", "success")],
    });
    skill.visit = await addSkill(agentId, { name: "Start a visit booking", description: "Books a repair visit", skillType: "playbook", executionConfig: { playbookId: playbook.id } });

    await put(`/api/v1/agents/${agentId}/guardrails`, [
      { policyType: "verify_before_disclose", config: { fields: [{ field: "status", audience: "anyone" }, { field: "balance", audience: "verified" }, { field: "card_number", audience: "verified" }] } },
      { policyType: "allowed_fields", appliesToSkillType: "http_webhook", config: { fields: ["status", "eta", "balance"] } },
      { policyType: "write_gate", config: { requireVerified: true, alwaysEscalate: ["Issue refund", "Wire money"] } },
      { policyType: "rate_limit", config: { toolCallsPerMinute: 5, toolCallsPerCall: 20 } },
      { policyType: "business_hours", config: { timezone: "America/New_York", weekly: {}, skills: { "Cancel order": "business_hours_only" } } },
      { policyType: "content_policy", config: { bannedTopics: ["politics", "competitors"], redactPii: true, escalationThreshold: 3 } },
    ]);
    await put(`/api/v1/agents/${agentId}/caller-verification`, [{ method: "account_pin", verifierSkillId: skill.lookup!.id, stepUpFor: ["Cancel order"] }]);
    report = await reportOf(agentId);
  });

  it("lists each skill with the gates the guardrail engine applies to it", () => {
    expect(report.willSay).toContain(`Uses the skill "Look up order" (Looks up an order's status): passes on only status, eta and balance from its result`);
    expect(report.willSay).toContain(
      `Uses the skill "Cancel order" (Cancels an order): on voice only, during business hours only, verified callers only, verifies the caller again first, asks the caller to confirm first, passes on only status, eta and balance from its result`,
    );
    expect(report.willSay).toContain(`Uses the skill "Issue refund" (Refunds an order): not outside business hours, never runs itself: the caller is handed to a person`);
    expect(report.willSay).toContain(`Uses the skill "Billing line" (Transfers billing questions): to +14155550122, warm: summarises the caller and reason to the person first as the handoff settings say`);
    expect(report.willSay).toContain(`Uses the skill "Start a visit booking" (Books a repair visit): starts the "Repair visit" playbook`);
  });

  it("lists playbooks with what they ask for and run", () => {
    expect(report.willSay).toContain(`Follows the "Repair visit" procedure: books a repair visit (asks for problem and street address, asks the caller to confirm, runs "Look up order")`);
  });

  it("says what the guardrails disclose to whom, and what only skills' allowed fields surface", () => {
    expect(report.willSay).toContain("Tells any caller their status");
    expect(report.willSay).toContain("Tells only verified callers their balance and card_number");
    expect(report.wontSay).toContain("Will not tell unverified callers their balance and card_number");
    expect(report.willSay).toContain("Passes on from http_webhook skills only status, eta and balance");
    expect(report.wontSay).toContain("Will not pass on any other field of a http_webhook skill's result");
    expect(report.guardrails).toContainEqual({ policyType: "verify_before_disclose", summary: "Discloses balance and card_number only to verified callers; status to anyone" });
    expect(report.guardrails).toContainEqual({ policyType: "allowed_fields", summary: "http_webhook skills may surface only status, eta and balance" });
    expect(report.guardrails).toContainEqual({
      policyType: "caller_verification",
      summary: `Verifies callers by account pin (asks for account number and pin), at most 3 attempts, valid 15 minutes; verifies again before "Cancel order"`,
    });
  });

  it("describes the write gate: confirmation, verified writers and actions always handed to a person", () => {
    expect(report.guardrails).toContainEqual({ policyType: "write_gate", summary: `Confirms before any write; writes need a verified caller; always hands "Issue refund" and "Wire money" to a person` });
    expect(report.wontSay).toContain(`Will not run "Issue refund" itself: hands the caller to a person instead`);
    expect(report.warnings).toContain(`write_gate alwaysEscalate names "Wire money", which is not an enabled skill of this agent: it has no effect`);
    expect(report.guardrails).toContainEqual({ policyType: "rate_limit", summary: "At most 5 actions a minute; 20 per conversation" });
    expect(report.wontSay).toContain("Will not run more than 5 actions a minute");
    expect(report.wontSay).toContain("Will not run more than 20 actions in one conversation");
  });

  it("states business hours, holidays and what happens after hours", () => {
    expect(report.willSay).toContain(
      "Is open Mon 09:00–17:00; Tue 09:00–17:00; Wed closed; Thu closed; Fri closed; Sat closed; Sun closed (America/New_York); holidays: Christmas, 2025-12-25 closed and takes a message after hours",
    );
    expect(report.willSay).toContain("Outside business hours, tells callers it is closed and when it opens again");
    expect(report.willSay).toContain("Outside business hours, transfers emergencies to +14155550199");
    expect(report.willSay).toContain("Outside business hours, transfers callers who need a person to +14155550111");
    expect(report.wontSay).not.toContain("Will not transfer to a person outside business hours");
    expect(report.wontSay).toContain("Will not run skills that change data outside business hours (after-hours mode take_message)");
    expect(report.guardrails).toContainEqual({ policyType: "business_hours", summary: `Applies business hours in America/New_York when the agent sets none of its own; "Cancel order" runs during business hours only` });
  });

  it("lists the declines: banned topics, neverDo rules and banned words", () => {
    expect(report.wontSay).toContain("Will not discuss politics");
    expect(report.wontSay).toContain("Will not discuss competitors");
    expect(report.wontSay).toContain("Will not promise same-day repairs");
    expect(report.wontSay).toContain("Never says: cheap");
    expect(report.guardrails).toContainEqual({ policyType: "content_policy", summary: "Refuses to discuss politics and competitors; redacts personal data in stored transcripts; offers a person after 3 negative turns" });
    expect(report.willSay).toContain("Offers a person after 3 negative turns from the caller");
    // neverDo reaches a model's instructions only; the report must not pass it off as enforced.
    expect(report.warnings).toContain(
      "neverDo rules are instructions to a language-model brain only: no guardrail checks replies against them (content_policy bannedTopics and lexicon.banned are enforced)",
    );
  });

  it("lists data egress: declared fields only when a skill declares its dataEgressMap, and where they go", () => {
    const egress = Object.fromEntries(report.dataEgress.map((e) => [e.skillName, e]));
    expect(egress["Look up order"]).toEqual({ skillId: skill.lookup!.id, skillName: "Look up order", fields: ["order_number"], destination: "POST to orders.example.com" });
    // card_number is a parameter, but the dataEgressMap leaves it out, so the runtime never sends it.
    expect(egress["Email the team"]).toMatchObject({ skillId: skill.summary!.id, destination: "email to team@example.com" });
    expect([...egress["Email the team"]!.fields].sort()).toEqual(["caller_name", "message"]);
    expect(egress["Billing line"]).toMatchObject({ destination: "phone transfer to +14155550122, with a summary of the conversation" });
    expect(egress["Start a visit booking"]).toBeUndefined();
  });

  it("reads the same every time", async () => {
    expect(await reportOf(agentId)).toEqual(report);
  });
});

describe("confirmation in the pre-publish report", () => {
  it("claims a confirmation only where the runtime asks for one: requiresConfirmation, high stakes, or a write_gate for writes", async () => {
    const agentId = await newAgent({ name: "Ungated" });
    await addSkill(agentId, webhook("Update address", "Updates the delivery address", "https://orders.example.com/address", { isWrite: true }));
    await addSkill(agentId, webhook("Close account", "Closes the account", "https://orders.example.com/close", { isWrite: true, stakes: "high" }));
    await addSkill(agentId, webhook("Reorder", "Places the last order again", "https://orders.example.com/reorder", { requiresConfirmation: true }));
    await addSkill(agentId, webhook("Track", "Tracks a parcel", "https://orders.example.com/track"));

    let report = await reportOf(agentId);
    expect(report.willSay).toContain(`Uses the skill "Update address" (Updates the delivery address): changes data without asking the caller to confirm`);
    expect(report.willSay).toContain(`Uses the skill "Close account" (Closes the account): asks the caller to confirm first`);
    expect(report.willSay).toContain(`Uses the skill "Reorder" (Places the last order again): asks the caller to confirm first`);
    expect(report.willSay).toContain(`Uses the skill "Track" (Tracks a parcel) with no further checks`);
    expect(report.warnings).toContain(`Skill "Update address" changes data and runs without asking the caller to confirm: add a write_gate policy or set requiresConfirmation`);
    expect(report.warnings.filter((w) => w.includes("without asking the caller to confirm"))).toHaveLength(1);

    await put(`/api/v1/agents/${agentId}/guardrails`, [{ policyType: "write_gate", config: {} }]);
    report = await reportOf(agentId);
    expect(report.willSay).toContain(`Uses the skill "Update address" (Updates the delivery address): asks the caller to confirm first`);
    expect(report.warnings.some((w) => w.includes("without asking the caller to confirm"))).toBe(false);

    await put(`/api/v1/agents/${agentId}/guardrails`, [{ policyType: "write_gate", config: { confirmBeforeWrite: false } }]);
    report = await reportOf(agentId);
    expect(report.willSay).toContain(`Uses the skill "Update address" (Updates the delivery address): changes data without asking the caller to confirm`);
    expect(report.willSay).toContain(`Uses the skill "Close account" (Closes the account): asks the caller to confirm first`);
    expect(report.guardrails).toContainEqual({ policyType: "write_gate", summary: "Writes without a confirmation step (unless a skill asks for one or its stakes are high)" });
    expect(report.warnings).toContain(`Skill "Update address" changes data and runs without asking the caller to confirm: turn on the write_gate's confirmBeforeWrite or set requiresConfirmation`);
  });
});

describe("warnings for gates that cannot pass or do nothing", () => {
  it("warns when verification is required but not configured, and when templates use undeclared data", async () => {
    const agentId = await newAgent({ name: "Half configured" });
    await addSkill(agentId, webhook("Account balance", "Reads the balance", "https://bank.example.com/balance?account={account_number}", { requiresVerifiedIdentity: true, dataEgressMap: { order_number: "bank" } }));
    await put(`/api/v1/agents/${agentId}/guardrails`, [{ policyType: "verify_before_disclose", config: { fields: [{ field: "balance", audience: "verified" }] } }]);
    const report = await reportOf(agentId);
    expect(report.willSay).toContain(`Uses the skill "Account balance" (Reads the balance): verified callers only`);
    expect(report.warnings).toContain(`Skill "Account balance" needs a verified caller but caller verification is not configured: it can never run`);
    expect(report.warnings).toContain("Caller verification is not configured: balance can never be disclosed");
    expect(report.warnings).toContain(`Skill "Account balance" fills {account_number} into its request, but its dataEgressMap does not declare it: every call is refused before anything is sent`);
    expect(report.dataEgress[0]).toMatchObject({ fields: ["order_number"], destination: "POST to bank.example.com" });
  });

  it("warns about a playbook skill whose playbook is disabled and a verification method this installation cannot run", async () => {
    const agentId = await newAgent({ name: "Loose ends" });
    const playbook = (await app.api("POST", `/api/v1/agents/${agentId}/playbooks`, { key, body: { name: "Intake", description: "Takes details." } })).body.data;
    const starter = await addSkill(agentId, { name: "Start intake", description: "Starts the intake", skillType: "playbook", executionConfig: { playbookId: playbook.id } });
    expect((await app.api("PATCH", `/api/v1/agents/${agentId}/playbooks/${playbook.id}`, { key, body: { isEnabled: false } })).status).toBe(200);
    await put(`/api/v1/agents/${agentId}/caller-verification`, [{ method: "otp_sms", verifierSkillId: starter.id }]);
    const report = await reportOf(agentId);
    expect(report.willSay).toContain(`Uses the skill "Start intake" (Starts the intake) with no further checks`);
    expect(report.warnings).toContain(`Skill "Start intake" starts playbook ${playbook.id}, which is deleted or disabled: it answers playbook_unavailable`);
    expect(report.warnings).toContain("Caller verification by otp sms cannot run on this installation: it needs an SMS sender, which no connected integration provides");
  });

  it("says a transfer without warm follows the agent's handoff setting, and never transfers after hours without a number", async () => {
    const agentId = await newAgent({
      name: "Night shift",
      handoffConfig: { transferDestination: "+14155550100" },
      businessHours: { timezone: "Europe/London", weekly: { friday: [{ start: "22:00", end: "06:00" }] }, afterHours: { mode: "closed_message", message: "We are closed." } },
    });
    await addSkill(agentId, { name: "Person", description: "Connects the caller to a person", skillType: "transfer", executionConfig: {} });
    const report = await reportOf(agentId);
    expect(report.willSay).toContain(`Uses the skill "Person" (Connects the caller to a person): by the handoff rules, cold: connects at once as the handoff settings say, not outside business hours`);
    expect(report.willSay).toContain(`Outside business hours, adds to its greeting: "We are closed."`);
    expect(report.wontSay).toContain("Will not transfer to a person outside business hours");
    expect(report.wontSay).toContain("Will not run skills that change data or transfer the call outside business hours (after-hours mode closed_message)");
    expect(report.dataEgress).toContainEqual(expect.objectContaining({ skillName: "Person", destination: "phone transfer by the handoff rules" }));
  });
});

describe("knowledge in the pre-publish report", () => {
  it("counts the agent's knowledge sources by state instead of reporting none", async () => {
    const agentId = await newAgent({ name: "Knows things" });
    let report = await reportOf(agentId);
    expect(report.knowledgeCoverage).toEqual({ sources: 0, indexed: 0, pending: 0, coverageScore: null });
    expect(report.warnings).toContain("No knowledge sources: the agent answers only through its skills and says it does not know otherwise");

    const created = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/sources`, { key, body: { kind: "faq", label: "FAQ", items: [{ question: "Do you fix boilers?", answer: "Yes, every make." }] } });
    expect(created.status).toBe(201);
    const deadline = Date.now() + 20_000;
    while ((await app.api("GET", `/api/v1/agents/${agentId}/knowledge/sources/${created.body.data.id}`, { key })).body.data.status !== "indexed") {
      if (Date.now() > deadline) throw new Error("the FAQ source was not indexed in time");
      await Bun.sleep(50);
    }
    report = await reportOf(agentId);
    expect(report.knowledgeCoverage).toEqual({ sources: 1, indexed: 1, pending: 0, coverageScore: null });
    expect(report.willSay).toContain("Answers questions from 1 indexed knowledge source");
    expect(report.warnings.some((w) => w.includes("knowledge source"))).toBe(false);
  });
});
