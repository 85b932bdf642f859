import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
});
afterAll(() => app.stop());

const create = async (body: Record<string, unknown>, k = key) => app.api("POST", "/api/v1/agents", { key: k, body });

describe("creating and reading agents", () => {
  it("creates a draft agent with defaults and answers it in the envelope", async () => {
    const res = await create({ name: "Front desk" });
    expect(res.status).toBe(201);
    expect(res.body.success).toBe(true);
    const agent = res.body.data;
    expect(agent.id).toMatch(/^agt_[0-9A-Z]{26}$/);
    expect(agent).toMatchObject({
      name: "Front desk",
      version: 1,
      status: "draft",
      publishedVersionId: null,
      isActive: true,
      primaryLanguage: "en",
      languages: ["en"],
      enabledChannels: ["voice", "chat"],
      callControl: {},
      businessHours: {},
    });
    const got = await app.api("GET", `/api/v1/agents/${agent.id}`, { key });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ success: true, data: agent });
  });

  it("names every invalid field in a validation failure", async () => {
    const res = await create({
      name: "",
      llmTemperature: 7,
      endpointing: { minSilenceMs: "soon" },
      handoffConfig: { transferRules: [{ label: "Billing", when: "invoices" }] },
      enabledChannels: ["fax"],
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.code).toBe("validation_error");
    const fields = res.body.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(
      ["enabledChannels[0]", "endpointing.minSilenceMs", "handoffConfig.transferRules[0].destination", "llmTemperature", "name"].sort(),
    );
    expect(res.body.errors.find((e: { field: string }) => e.field === "handoffConfig.transferRules[0].destination").message).toBe("is required");
  });

  it("refuses a wrong-typed nested object instead of treating it as empty", async () => {
    const { body } = await create({ name: "Nested", endpointing: { minSilenceMs: 700 } });
    const res = await app.api("PATCH", `/api/v1/agents/${body.data.id}`, { key, body: { endpointing: "soon", voiceSettings: ["x"] } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["endpointing", "voiceSettings"]);
    expect((await app.api("GET", `/api/v1/agents/${body.data.id}`, { key })).body.data.endpointing.minSilenceMs).toBe(700);
  });

  it("requires a name", async () => {
    const res = await create({ persona: "x" });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: "name", message: "is required" }]);
  });

  it("normalizes phone numbers to E.164 and refuses ones it cannot read", async () => {
    const res = await create({
      name: "Transfers",
      handoffConfig: { warm: true, transferDestination: "(415) 555-0100", transferRules: [{ label: "Billing", when: "invoice questions", destination: "+44 20 7946 0958" }] },
      businessHours: { timezone: "Europe/London", weekly: { monday: [{ start: "08:00", end: "18:00" }] }, afterHours: { allowHumanTransfer: true, number: "4155550111" } },
    });
    expect(res.status).toBe(201);
    expect(res.body.data.handoffConfig.transferDestination).toBe("+14155550100");
    expect(res.body.data.handoffConfig.transferRules[0].destination).toBe("+442079460958");
    expect(res.body.data.businessHours.afterHours.number).toBe("+14155550111");

    const bad = await create({ name: "Bad", handoffConfig: { transferDestination: "call me maybe" } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ field: "handoffConfig.transferDestination", message: expect.stringContaining("E.164") }]);
  });

  it("requires a time zone once business hours are set, and a real one", async () => {
    const none = await create({ name: "Hours", businessHours: { weekly: { friday: [{ start: "09:00", end: "17:00" }] } } });
    expect(none.status).toBe(400);
    expect(none.body.errors).toEqual([{ field: "businessHours.timezone", message: "is required once a schedule is set" }]);
    const fake = await create({ name: "Hours", businessHours: { timezone: "Mars/Olympus", weekly: {} } });
    expect(fake.body.errors[0].field).toBe("businessHours.timezone");
  });

  it("answers 422 for a language the speech engines do not support", async () => {
    const res = await create({ name: "Klingon", languages: ["tlh"], primaryLanguage: "tlh" });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("unsupported_language");
  });

  it("answers 404 problem for an unknown agent", async () => {
    const res = await app.api("GET", "/api/v1/agents/agt_00000000000000000000000000", { key });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: 404, code: "agent_not_found", type: "https://docs.flowyte.com/errors/agent_not_found", instance: "/api/v1/agents/agt_00000000000000000000000000" });
  });
});

describe("updating agents", () => {
  it("applies a partial update, bumps the version and keeps other fields", async () => {
    const { body } = await create({ name: "Patchy", goals: ["book jobs"], tone: "warm" });
    const res = await app.api("PATCH", `/api/v1/agents/${body.data.id}`, { key, body: { tone: "brisk", endpointing: { minSilenceMs: 300, maxSilenceMs: 900 } } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ version: 2, tone: "brisk", goals: ["book jobs"], name: "Patchy", endpointing: { minSilenceMs: 300, maxSilenceMs: 900 } });
  });

  it("answers 409 with the current version and agent when If-Match is stale", async () => {
    const { body } = await create({ name: "Concurrent" });
    const id = body.data.id;
    const first = await app.api("PATCH", `/api/v1/agents/${id}`, { key, body: { tone: "a" }, headers: { "if-match": "1" } });
    expect(first.status).toBe(200);
    expect(first.body.data.version).toBe(2);
    const stale = await app.api("PATCH", `/api/v1/agents/${id}`, { key, body: { tone: "b" }, headers: { "if-match": '"1"' } });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("version_conflict");
    expect(stale.body.currentVersion).toBe(2);
    expect(stale.body.agent).toMatchObject({ id, version: 2, tone: "a" });
    const fresh = await app.api("PATCH", `/api/v1/agents/${id}`, { key, body: { tone: "b" }, headers: { "if-match": "2" } });
    expect(fresh.body.data).toMatchObject({ version: 3, tone: "b" });
    const garbage = await app.api("PATCH", `/api/v1/agents/${id}`, { key, body: { tone: "c" }, headers: { "if-match": "latest" } });
    expect(garbage.status).toBe(400);
    expect(garbage.body.code).toBe("invalid_if_match");
  });

  it("checks ranges across fields after merging", async () => {
    const { body } = await create({ name: "Silence", endpointing: { minSilenceMs: 400, maxSilenceMs: 800 } });
    const res = await app.api("PATCH", `/api/v1/agents/${body.data.id}`, { key, body: { endpointing: { minSilenceMs: 2000, maxSilenceMs: 1000 } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: "endpointing.minSilenceMs", message: "must not exceed endpointing.maxSilenceMs" }]);
  });

  it("sets the voice for a language from the installed voices, and refuses others", async () => {
    const { body } = await create({ name: "Voices", languages: ["en", "es"] });
    const id = body.data.id;
    expect(body.data.languageMode).toBe("code_switch");

    const unknown = await app.api("PUT", `/api/v1/agents/${id}/voice`, { key, body: { voiceId: "piper:nobody-here" } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors).toEqual([{ field: "voiceId", message: "is not an installed voice" }]);
    const fr = await app.api("PUT", `/api/v1/agents/${id}/voice`, { key, body: { voiceId: "piper:nobody-here", language: "fr" } });
    expect(fr.status).toBe(422);
    expect(fr.body.code).toBe("language_not_enabled");

    // espeak-ng's voices are the ones every installation can have (CI and the image install espeak-ng). Without
    // it they are absent, and this says so instead of passing over the assignment.
    const espeakVoices = (await app.api("GET", "/api/v1/voices", { key })).body.data.filter((v: { engine: string }) => v.engine === "espeak");
    if (!Bun.which("espeak-ng")) {
      expect(espeakVoices).toEqual([]);
      const absent = await app.api("PUT", `/api/v1/agents/${id}/voice`, { key, body: { voiceId: "espeak:en-us" } });
      expect(absent.status).toBe(404);
      return;
    }
    const english = "espeak:en-us";
    const spanish = "espeak:es";
    expect(espeakVoices.map((v: { id: string }) => v.id)).toEqual(expect.arrayContaining([english, spanish]));
    const es = await app.api("PUT", `/api/v1/agents/${id}/voice`, { key, body: { voiceId: spanish, language: "es" } });
    expect(es.status).toBe(200);
    expect(es.body.data.voiceMap).toEqual({ es: spanish });
    expect(es.body.data.defaultVoiceId).toBeNull();
    const primary = await app.api("PUT", `/api/v1/agents/${id}/voice`, { key, body: { voiceId: english } });
    expect(primary.body.data).toMatchObject({ defaultVoiceId: english, voiceMap: { es: spanish, en: english }, version: 3 });
    const mismatch = await app.api("PUT", `/api/v1/agents/${id}/voice`, { key, body: { voiceId: spanish, language: "en" } });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.code).toBe("voice_language_unsupported");
    expect((await app.api("GET", `/api/v1/agents/${id}`, { key })).body.data).toMatchObject({ defaultVoiceId: english, voiceMap: { es: spanish, en: english }, version: 3 });
  });

  it("deletes an agent: gone from get and list, and a second delete is 404", async () => {
    const { body } = await create({ name: "Doomed" });
    const id = body.data.id;
    expect((await app.api("DELETE", `/api/v1/agents/${id}`, { key })).body).toEqual({ success: true, data: null, message: "agent deleted" });
    expect((await app.api("GET", `/api/v1/agents/${id}`, { key })).status).toBe(404);
    const list = await app.api("GET", "/api/v1/agents?limit=100", { key });
    expect(list.body.data.map((a: { id: string }) => a.id)).not.toContain(id);
    expect((await app.api("DELETE", `/api/v1/agents/${id}`, { key })).status).toBe(404);
  });
});

describe("publishing", () => {
  it("publish → versions → diff → rollback moves the live version and leaves the draft alone", async () => {
    const { body } = await create({ name: "Versioned", greeting: "Hi, v1 here" });
    const id = body.data.id;

    const v1 = await app.api("POST", `/api/v1/agents/${id}/publish`, { key, body: { note: "first" } });
    expect(v1.status).toBe(201);
    expect(v1.body.data).toMatchObject({ agentId: id, version: 1, note: "first", compiledConfig: { agent: { name: "Versioned", greeting: "Hi, v1 here" } } });
    let agent = (await app.api("GET", `/api/v1/agents/${id}`, { key })).body.data;
    expect(agent).toMatchObject({ status: "published", publishedVersionId: v1.body.data.id });

    await app.api("PATCH", `/api/v1/agents/${id}`, { key, body: { greeting: "Hi, v2 here", handoffConfig: { warm: true, transferRules: [] } } });
    const v2 = await app.api("POST", `/api/v1/agents/${id}/publish`, { key });
    expect(v2.body.data.version).toBe(2);

    const versions = await app.api("GET", `/api/v1/agents/${id}/versions`, { key });
    expect(versions.body.data.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions.body.pagination).toEqual({ limit: 20, nextCursor: null, hasMore: false });

    await app.api("PATCH", `/api/v1/agents/${id}`, { key, body: { greeting: "Hi, draft", goals: ["sell"] } });
    const diff = await app.api("GET", `/api/v1/agents/${id}/versions/${v1.body.data.id}/diff`, { key });
    expect(diff.status).toBe(200);
    expect(diff.body.data.changes).toEqual([
      { field: "goals", kind: "changed", before: [], after: ["sell"] },
      { field: "greeting", kind: "changed", before: "Hi, v1 here", after: "Hi, draft" },
      { field: "handoffConfig.warm", kind: "changed", before: false, after: true },
    ]);

    const back = await app.api("POST", `/api/v1/agents/${id}/rollback`, { key, body: { versionId: v1.body.data.id } });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ success: true, message: "Repointed published version.", data: { id: v1.body.data.id, version: 1 } });
    agent = (await app.api("GET", `/api/v1/agents/${id}`, { key })).body.data;
    expect(agent.publishedVersionId).toBe(v1.body.data.id);
    expect(agent.greeting).toBe("Hi, draft");

    const unknown = await app.api("POST", `/api/v1/agents/${id}/rollback`, { key, body: { versionId: "ver_nope" } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("version_not_found");
  });

  it("publishes with no body at all, and refuses a body that is not a JSON object", async () => {
    const { body } = await create({ name: "Bodyless" });
    const bare = await fetch(`${app.url}/api/v1/agents/${body.data.id}/publish`, { method: "POST", headers: { authorization: `Bearer ${key}` } });
    expect(bare.status).toBe(201);
    for (const raw of ['{"note": ', '["not", "an", "object"]']) {
      const res = await app.api("POST", `/api/v1/agents/${body.data.id}/publish`, { key, raw, headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
    }
    expect((await app.api("GET", `/api/v1/agents/${body.data.id}/versions`, { key })).body.data).toHaveLength(1);
  });

  it("keeps published versions immutable while the draft changes", async () => {
    const { body } = await create({ name: "Frozen", tone: "calm" });
    const id = body.data.id;
    const v1 = (await app.api("POST", `/api/v1/agents/${id}/publish`, { key })).body.data;
    await app.api("PATCH", `/api/v1/agents/${id}`, { key, body: { tone: "loud" } });
    const versions = await app.api("GET", `/api/v1/agents/${id}/versions`, { key });
    expect(versions.body.data[0]).toEqual(v1);
    expect(versions.body.data[0].compiledConfig.agent.tone).toBe("calm");
  });

  it("publishes once for a retried request with the same Idempotency-Key", async () => {
    const { body } = await create({ name: "Retry" });
    const id = body.data.id;
    const headers = { "idempotency-key": `pub-${id}` };
    const a = await app.api("POST", `/api/v1/agents/${id}/publish`, { key, body: { note: "once" }, headers });
    const b = await app.api("POST", `/api/v1/agents/${id}/publish`, { key, body: { note: "once" }, headers });
    expect(b.status).toBe(201);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(b.body).toEqual(a.body);
    const versions = await app.api("GET", `/api/v1/agents/${id}/versions`, { key });
    expect(versions.body.data).toHaveLength(1);
  });

  it("reports in plain language what the draft will say, decline and need", async () => {
    const { body } = await create({
      name: "Reporter",
      goals: ["book service visits"],
      neverDo: ["quote prices over the phone"],
      lexicon: { banned: ["guarantee"] },
      handoffConfig: { transferDestination: "+14155550100", warm: true },
      businessHours: { timezone: "America/New_York", weekly: { monday: [{ start: "08:00", end: "17:00" }] }, afterHours: { mode: "take_message" } },
    });
    const id = body.data.id;
    const report = (await app.api("GET", `/api/v1/agents/${id}/prepublish-report`, { key })).body.data;
    expect(report.willSay).toContain("Works toward: book service visits");
    expect(report.willSay).toContain("Transfers to +14155550100 when a person is needed and no rule matches, after summarising the caller and reason to them");
    expect(report.willSay.some((s: string) => s.includes("Mon 08:00–17:00") && s.includes("takes a message after hours"))).toBe(true);
    expect(report.wontSay).toContain("Will not quote prices over the phone");
    expect(report.wontSay).toContain("Never says: guarantee");
    expect(report.wontSay).toContain("Will not transfer to a person outside business hours");
    expect(report.warnings).toContain("Never published: phone and chat answer 409 no_published_version until you publish");
    expect(report.hasUnpublishedChanges).toBe(true);
    expect(report.summary).toContain("Reporter answers on voice and chat in English");
    // Deterministic: the same draft reads the same.
    expect((await app.api("GET", `/api/v1/agents/${id}/prepublish-report`, { key })).body.data).toEqual(report);

    await app.api("POST", `/api/v1/agents/${id}/publish`, { key });
    const after = (await app.api("GET", `/api/v1/agents/${id}/prepublish-report`, { key })).body.data;
    expect(after.hasUnpublishedChanges).toBe(false);
  });
});

describe("listing agents", () => {
  it("walks a 250-item list without loss or duplicates while items are inserted", async () => {
    const org = await app.newOrg("Pagination org");
    const ids = new Set<string>();
    for (let i = 0; i < 250; i++) {
      const res = await create({ name: `Agent ${i}` }, org.key);
      ids.add(res.body.data.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { data: { id: string }[]; pagination: { nextCursor: string | null } } } = await app.api(
        "GET",
        `/api/v1/agents?limit=37${cursor ? `&cursor=${cursor}` : ""}`,
        { key: org.key },
      );
      seen.push(...res.body.data.map((a) => a.id));
      cursor = res.body.pagination.nextCursor;
      pages++;
      // Insertions during the walk land before the first page, never inside the pages still to come.
      await create({ name: `Inserted during walk ${pages}` }, org.key);
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => ids.has(id)).length).toBe(250);
    expect(seen.length).toBe(250);
    expect(pages).toBe(7);
  });

  it("filters by status and name", async () => {
    const org = await app.newOrg("Filter org");
    const a = (await create({ name: "Plumbing Line" }, org.key)).body.data;
    await create({ name: "Electric Line" }, org.key);
    await app.api("POST", `/api/v1/agents/${a.id}/publish`, { key: org.key });
    const published = await app.api("GET", "/api/v1/agents?status=published", { key: org.key });
    expect(published.body.data.map((x: { name: string }) => x.name)).toEqual(["Plumbing Line"]);
    const drafts = await app.api("GET", "/api/v1/agents?status=draft", { key: org.key });
    expect(drafts.body.data.map((x: { name: string }) => x.name)).toEqual(["Electric Line"]);
    const search = await app.api("GET", "/api/v1/agents?q=plumb", { key: org.key });
    expect(search.body.data.map((x: { name: string }) => x.name)).toEqual(["Plumbing Line"]);
    const wildcard = await app.api("GET", "/api/v1/agents?q=%25", { key: org.key });
    expect(wildcard.body.data).toEqual([]);
  });

  it("refuses a bad cursor or limit with a field error", async () => {
    const badCursor = await app.api("GET", "/api/v1/agents?cursor=nonsense", { key });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.errors).toEqual([{ field: "cursor", message: "is not a valid cursor" }]);
    const badLimit = await app.api("GET", "/api/v1/agents?limit=1000", { key });
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.errors[0].field).toBe("limit");
  });
});

describe("tenant isolation", () => {
  it("answers 404 to another organization's key on every agent route", async () => {
    const { body } = await create({ name: "Private", languages: ["en"] });
    const id = body.data.id;
    const version = (await app.api("POST", `/api/v1/agents/${id}/publish`, { key })).body.data.id;
    const other = await app.newOrg("Intruder");
    const calls: [string, string, unknown?][] = [
      ["GET", `/api/v1/agents/${id}`],
      ["PATCH", `/api/v1/agents/${id}`, { tone: "hijacked" }],
      ["POST", `/api/v1/agents/${id}/publish`, {}],
      ["GET", `/api/v1/agents/${id}/versions`],
      ["GET", `/api/v1/agents/${id}/versions/${version}/diff`],
      ["GET", `/api/v1/agents/${id}/prepublish-report`],
      ["POST", `/api/v1/agents/${id}/rollback`, { versionId: version }],
      ["PUT", `/api/v1/agents/${id}/voice`, { voiceId: "x" }],
      ["DELETE", `/api/v1/agents/${id}`],
    ];
    for (const [method, path, body] of calls) {
      const res = await app.api(method, path, { key: other.key, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
    }
    const list = await app.api("GET", "/api/v1/agents", { key: other.key });
    expect(list.body.data).toEqual([]);
    const mine = await app.api("GET", `/api/v1/agents/${id}`, { key });
    expect(mine.body.data).toMatchObject({ tone: "friendly and concise", version: 2 });
  });
});
