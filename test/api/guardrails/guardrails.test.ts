import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { skills } from "../../../src/platform/db/schema/index.ts";
import { newId } from "../../../src/platform/ids.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let organizationId: string;

beforeAll(async () => {
  app = await startTestApp();
  ({ key, organizationId } = await app.newOrg());
});
afterAll(() => app.stop());

/** The skills API is its own area; a row is all a verifier reference needs. */
async function insertSkill(agentId: string, name = "verify_caller") {
  const id = newId("skl");
  await app.server.database.db.insert(skills).values({
    id,
    organizationId,
    agentId,
    name,
    description: "Checks a caller's identity",
    skillType: "http_webhook",
    parametersSchema: { type: "object", properties: {} },
    requiredParams: [],
    executionConfig: { url: "https://example.test/verify" },
    dataEgressMap: {},
    allowedFields: [],
    channels: [],
    errorHandling: {},
  });
  return id;
}

const newAgent = async () => (await app.api("POST", "/api/v1/agents", { key, body: { name: "Guarded" } })).body.data.id as string;
const fieldsOf = (res: { body: { errors?: { field: string }[] } }) => (res.body.errors ?? []).map((e) => e.field);

const policies = [
  { policyType: "verify_before_disclose", config: { fields: [{ field: "business_hours", audience: "anyone" }, { field: "invoice_balance", audience: "verified" }] } },
  { policyType: "write_gate", config: { alwaysEscalate: ["issue_refund", "close_account"] } },
  { policyType: "rate_limit", config: { toolCallsPerMinute: 6, toolCallsPerCall: 20 } },
  { policyType: "allowed_fields", appliesToSkillType: "db_query", config: { fields: ["appointment_time"] }, isEnabled: false },
  {
    policyType: "business_hours",
    config: {
      timezone: "America/Chicago",
      weekly: { monday: [{ start: "08:00", end: "18:00" }], saturday: [{ start: "09:00", end: "14:00" }] },
      afterHours: { mode: "take_message", allowHumanTransfer: true, number: "(415) 555-0100" },
      skills: { book_job: "business_hours_only", emergency_dispatch: "always" },
    },
  },
  { policyType: "content_policy", config: { bannedTopics: ["politics"], redactPii: true, escalationThreshold: 3 } },
];

describe("guardrail policies", () => {
  it("starts empty", async () => {
    const agentId = await newAgent();
    expect((await app.api("GET", `/api/v1/agents/${agentId}/guardrails`, { key })).body).toEqual({ success: true, data: [] });
  });

  it("saves a full set in order, filling ids, owners and defaults", async () => {
    const agentId = await newAgent();
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: policies });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe("Saved policies.");
    const saved = res.body.data;
    expect(saved.map((p: { policyType: string }) => p.policyType)).toEqual(policies.map((p) => p.policyType));
    for (const p of saved) {
      expect(p.id).toMatch(/^grd_[0-9A-Z]{26}$/);
      expect(p).toMatchObject({ agentId, organizationId });
    }
    expect(saved[1].config).toEqual({ confirmBeforeWrite: true, requireVerified: false, alwaysEscalate: ["issue_refund", "close_account"] });
    expect(saved[3]).toMatchObject({ appliesToSkillType: "db_query", isEnabled: false });
    expect(saved[0]).toMatchObject({ appliesToSkillType: null, isEnabled: true });
    expect(saved[4].config.afterHours.number).toBe("+14155550100");
    expect((await app.api("GET", `/api/v1/agents/${agentId}/guardrails`, { key })).body.data).toEqual(saved);
  });

  it("replaces the whole set: ids sent back are kept, omitted policies deleted, unknown ids renewed", async () => {
    const agentId = await newAgent();
    const first = (await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: policies.slice(0, 3) })).body.data;
    const otherAgent = await newAgent();
    const foreign = (await app.api("PUT", `/api/v1/agents/${otherAgent}/guardrails`, { key, body: [policies[5]] })).body.data[0];

    const body = [
      { ...first[2], config: { toolCallsPerCall: 10 } },
      { ...first[0], agentId: "agt_somebody_else", organizationId: "org_somebody_else" },
      { ...policies[5], id: foreign.id },
    ];
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body });
    expect(res.status).toBe(200);
    const saved = res.body.data;
    expect(saved.map((p: { id: string }) => p.id).slice(0, 2)).toEqual([first[2].id, first[0].id]);
    expect(saved[0].config).toEqual({ toolCallsPerCall: 10 });
    expect(saved[1]).toMatchObject({ agentId, organizationId });
    expect(saved[2].id).not.toBe(foreign.id);
    expect(saved.map((p: { id: string }) => p.id)).not.toContain(first[1].id);
    expect((await app.api("GET", `/api/v1/agents/${otherAgent}/guardrails`, { key })).body.data).toEqual([foreign]);

    expect((await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: [] })).body.data).toEqual([]);
  });

  it("accepts PATCH as an alias with the same replace semantics", async () => {
    const agentId = await newAgent();
    const first = (await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: policies.slice(0, 2) })).body.data;
    const res = await app.api("PATCH", `/api/v1/agents/${agentId}/guardrails`, { key, body: [first[1]] });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([first[1]]);
  });

  it("refuses the same id twice in one list", async () => {
    const agentId = await newAgent();
    const [p] = (await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: [policies[2]] })).body.data;
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: [p, p] });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(["[1].id"]);
  });

  it("refuses an unknown policyType", async () => {
    const agentId = await newAgent();
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: [policies[0], { policyType: "vibes", config: {} }] });
    expect(res.status).toBe(400);
    expect(fieldsOf(res)).toEqual(["[1].policyType"]);
  });

  describe("checks each policyType's config, naming the field", () => {
    let agentId: string;
    beforeAll(async () => {
      agentId = await newAgent();
    });
    const put = (body: unknown[]) => app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body });

    it("verify_before_disclose", async () => {
      const res = await put([policies[1], policies[2], { policyType: "verify_before_disclose", config: { fields: [{ field: "balance", audience: "everyone" }] } }]);
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: "[2].config.fields[0].audience", message: "must be one of anyone, verified" }]);
      expect(fieldsOf(await put([{ policyType: "verify_before_disclose", config: {} }]))).toEqual(["[0].config.fields"]);
    });

    it("allowed_fields", async () => {
      expect(fieldsOf(await put([{ policyType: "allowed_fields", config: { fields: ["ok", 7] } }]))).toEqual(["[0].config.fields[1]"]);
    });

    it("write_gate", async () => {
      expect(fieldsOf(await put([{ policyType: "write_gate", config: { confirmBeforeWrite: "yes", alwaysEscalate: "issue_refund" } }]))).toEqual([
        "[0].config.confirmBeforeWrite",
        "[0].config.alwaysEscalate",
      ]);
    });

    it("rate_limit", async () => {
      expect(fieldsOf(await put([{ policyType: "rate_limit", config: { toolCallsPerMinute: 0 } }]))).toEqual(["[0].config.toolCallsPerMinute"]);
      const none = await put([{ policyType: "rate_limit", config: {} }]);
      expect(none.body.errors).toEqual([{ field: "[0].config", message: "needs toolCallsPerMinute, toolCallsPerCall or both" }]);
    });

    it("business_hours", async () => {
      expect(fieldsOf(await put([{ policyType: "business_hours", config: { weekly: {} } }]))).toEqual(["[0].config.timezone"]);
      const res = await put([
        {
          policyType: "business_hours",
          config: {
            timezone: "Mars/Olympus",
            weekly: { funday: [{ start: "09:00", end: "17:00" }], monday: [{ start: "9am", end: "17:00" }] },
            afterHours: { number: "call me" },
            skills: { book_job: "sometimes" },
          },
        },
      ]);
      expect(fieldsOf(res).sort()).toEqual(["[0].config.skills.book_job", "[0].config.weekly.monday[0].start"]);
      const semantic = await put([{ policyType: "business_hours", config: { timezone: "Mars/Olympus", weekly: { funday: [] }, afterHours: { number: "call me" } } }]);
      expect(fieldsOf(semantic)).toEqual(["[0].config.timezone", "[0].config.weekly.funday", "[0].config.afterHours.number"]);
    });

    it("content_policy, filling defaults and dropping unknown keys", async () => {
      expect(fieldsOf(await put([{ policyType: "content_policy", config: { escalationThreshold: 0, bannedTopics: [""] } }])).sort()).toEqual([
        "[0].config.bannedTopics[0]",
        "[0].config.escalationThreshold",
      ]);
      const ok = await put([{ policyType: "content_policy", config: { unknownKnob: 1 } }]);
      expect(ok.body.data[0].config).toEqual({ bannedTopics: [], redactPii: false });
    });
  });
});

describe("caller verification", () => {
  it("saves configs with per-method defaults", async () => {
    const agentId = await newAgent();
    const verifier = await insertSkill(agentId);
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/caller-verification`, {
      key,
      body: [
        { method: "dob_postcode", verifierSkillId: verifier },
        { method: "account_pin", verifierSkillId: verifier, tokenTtlSeconds: 600, maxAttempts: 5, stepUpFor: ["close_account"] },
        { method: "otp_sms", verifierSkillId: verifier },
        { method: "knowledge_based", verifierSkillId: verifier, requiredFields: ["last_order_total"] },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.message).toBe("Saved configs.");
    const [dob, pin, otp, kba] = res.body.data;
    expect(dob).toEqual({ id: expect.stringMatching(/^cvf_/), agentId, organizationId, method: "dob_postcode", verifierSkillId: verifier, requiredFields: ["dob", "postcode"], tokenTtlSeconds: 900, maxAttempts: 3, stepUpFor: [] });
    expect(pin).toMatchObject({ requiredFields: ["account_number", "pin"], tokenTtlSeconds: 600, maxAttempts: 5, stepUpFor: ["close_account"] });
    expect(otp.requiredFields).toEqual(["phone"]);
    expect(kba.requiredFields).toEqual(["last_order_total"]);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/caller-verification`, { key })).body.data).toEqual(res.body.data);
  });

  it("refuses a verifierSkillId that is not a skill of this agent", async () => {
    const agentId = await newAgent();
    const verifier = await insertSkill(agentId);
    const elsewhere = await insertSkill(await newAgent());
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/caller-verification`, {
      key,
      body: [
        { method: "dob_postcode", verifierSkillId: verifier },
        { method: "account_pin", verifierSkillId: elsewhere },
        { method: "otp_sms", verifierSkillId: "skl_missing" },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("validation_error");
    expect(fieldsOf(res)).toEqual(["[1].verifierSkillId", "[2].verifierSkillId"]);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/caller-verification`, { key })).body.data).toEqual([]);
  });

  it("checks methods, limits and knowledge_based fields", async () => {
    const agentId = await newAgent();
    const verifier = await insertSkill(agentId);
    const bad = await app.api("PUT", `/api/v1/agents/${agentId}/caller-verification`, {
      key,
      body: [{ method: "retina_scan", verifierSkillId: verifier, tokenTtlSeconds: 30, maxAttempts: 11 }],
    });
    expect(fieldsOf(bad).sort()).toEqual(["[0].maxAttempts", "[0].method", "[0].tokenTtlSeconds"]);
    const kba = await app.api("PUT", `/api/v1/agents/${agentId}/caller-verification`, { key, body: [{ method: "knowledge_based", verifierSkillId: verifier }] });
    expect(fieldsOf(kba)).toEqual(["[0].requiredFields"]);
    const empty = await app.api("PUT", `/api/v1/agents/${agentId}/caller-verification`, { key, body: [{ method: "knowledge_based", verifierSkillId: verifier, requiredFields: [] }] });
    expect(fieldsOf(empty)).toEqual(["[0].requiredFields"]);
  });

  it("replaces the whole list, keeping sent ids, also through PATCH", async () => {
    const agentId = await newAgent();
    const verifier = await insertSkill(agentId);
    const first = (
      await app.api("PUT", `/api/v1/agents/${agentId}/caller-verification`, {
        key,
        body: [
          { method: "dob_postcode", verifierSkillId: verifier },
          { method: "otp_sms", verifierSkillId: verifier },
        ],
      })
    ).body.data;
    const res = await app.api("PATCH", `/api/v1/agents/${agentId}/caller-verification`, { key, body: [{ ...first[1], maxAttempts: 2 }] });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([{ ...first[1], maxAttempts: 2 }]);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/caller-verification`, { key })).body.data).toEqual(res.body.data);
  });
});

describe("tenancy and scopes", () => {
  it("answers 404 on every route for another organization's agent", async () => {
    const agentId = await newAgent();
    const verifier = await insertSkill(agentId);
    await app.api("PUT", `/api/v1/agents/${agentId}/guardrails`, { key, body: [policies[2]] });
    const stranger = (await app.newOrg("Stranger")).key;
    const calls: [string, string, unknown?][] = [
      ["GET", "guardrails"],
      ["PUT", "guardrails", []],
      ["PATCH", "guardrails", []],
      ["GET", "caller-verification"],
      ["PUT", "caller-verification", [{ method: "dob_postcode", verifierSkillId: verifier }]],
      ["PATCH", "caller-verification", []],
    ];
    for (const [method, tail, body] of calls) {
      const res = await app.api(method, `/api/v1/agents/${agentId}/${tail}`, { key: stranger, body });
      expect({ method, tail, status: res.status, code: res.body.code }).toEqual({ method, tail, status: 404, code: "agent_not_found" });
    }
    expect((await app.api("GET", `/api/v1/agents/${agentId}/guardrails`, { key })).body.data).toHaveLength(1);
  });

  it("reads with guardrails:read and replaces with guardrails:write", async () => {
    const agentId = await newAgent();
    const reader = await app.keyWith(organizationId, ["guardrails:read"]);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/caller-verification`, { key: reader })).status).toBe(200);
    for (const method of ["PUT", "PATCH"]) {
      const res = await app.api(method, `/api/v1/agents/${agentId}/guardrails`, { key: reader, body: [] });
      expect(res.status).toBe(403);
      expect(res.body.requiredScope).toBe("guardrails:write");
    }
    const writer = await app.keyWith(organizationId, ["guardrails:write"]);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/guardrails`, { key: writer })).body.requiredScope).toBe("guardrails:read");
  });
});
