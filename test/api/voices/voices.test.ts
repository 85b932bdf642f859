import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { listEspeakVoices } from "../../../voice/speech/tts.ts";
import { startSpeechStandIn, type SpeechStandIn } from "../../voice/speech/openai-speech-stand-in.ts";

const hasEspeak = listEspeakVoices().length > 0;
if (!hasEspeak) console.warn("skipping the voice catalog's espeak-ng checks: espeak-ng is not installed (apt-get install espeak-ng)");

let app: TestApp;
let speechServer: SpeechStandIn;
let key: string;
let organizationId: string;

beforeAll(async () => {
  speechServer = startSpeechStandIn({ voices: ["af_bella", "am_adam"] });
  app = await startTestApp({ SPEECH_BASE_URL: speechServer.baseUrl });
  ({ key, organizationId } = await app.newOrg());
});
afterAll(async () => {
  await app.stop();
  speechServer.stop();
});

const get = (path: string) => app.api("GET", `/api/v1${path}`, { key });
type Voice = { id: string; language: string; gender: string | null; engine: string; tier: string; featured: boolean };

describe("GET /voices", () => {
  it("lists every installed voice as a flat list: the speech server's and espeak-ng's for the agent languages", async () => {
    const res = await get("/voices");
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.pagination).toBeUndefined();
    const ids = res.body.data.map((v: Voice) => v.id);
    expect(ids).toContain("server:af_bella");
    expect(ids).toContain("server:am_adam");
    if (hasEspeak) {
      expect(ids).toContain("espeak:en-us");
      expect(ids).toContain("espeak:fr-fr+f3");
      // Languages no agent can speak are left out (espeak-ng also speaks e.g. Esperanto).
      expect(ids).not.toContain("espeak:eo");
    }
    const voice = res.body.data.find((v: Voice) => v.id === "server:am_adam");
    expect(voice).toMatchObject({ engine: "server", tier: "premium", capabilities: { speed: true, speedMin: 0.25, speedMax: 4 }, previewUrl: null });
  });

  it.skipIf(!hasEspeak)("filters by language, gender, tier and tone, AND-combined", async () => {
    const british = (await get("/voices?language=en-GB&gender=female")).body.data as Voice[];
    expect(british.length).toBeGreaterThan(0);
    expect(british.every((v) => v.language.startsWith("en-GB") && v.gender === "female")).toBe(true);
    const budget = (await get("/voices?tier=budget&tone=robotic,clear")).body.data as Voice[];
    expect(budget.length).toBeGreaterThan(0);
    expect(budget.every((v) => v.engine === "espeak")).toBe(true);
    expect((await get("/voices?tone=robotic&tone=warm")).body.data).toEqual([]);
    expect((await get("/voices?q=caribbean")).body.data.map((v: Voice) => v.id)).toEqual(["espeak:en-029", "espeak:en-029+f3"]);
  });

  it("refuses a filter value outside its set", async () => {
    const res = await get("/voices?tier=gold");
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toContain("tier");
  });

  it("needs agents:read", async () => {
    const other = await app.keyWith(organizationId, ["calls:read"]);
    const res = await app.api("GET", "/api/v1/voices", { key: other });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: "insufficient_scope", requiredScope: "agents:read" });
  });
});

describe("GET /voices/facets", () => {
  it("counts each facet over the same voices the list returns", async () => {
    for (const filter of ["", "?language=en", "?tier=budget&gender=male", "?language=fr"]) {
      const [facets, list] = await Promise.all([get(`/voices/facets${filter}`), get(`/voices${filter}`)]);
      expect(facets.status).toBe(200);
      const voices = list.body.data as Voice[];
      expect(facets.body.data.total).toBe(voices.length);
      const tiers = voices.reduce<Record<string, number>>((m, v) => ({ ...m, [v.tier]: (m[v.tier] ?? 0) + 1 }), {});
      const byLanguage = voices.reduce<Record<string, number>>((m, v) => {
        const l = v.language.split("-")[0]!;
        return { ...m, [l]: (m[l] ?? 0) + 1 };
      }, {});
      expect(facets.body.data.language).toEqual(byLanguage);
      expect(Object.keys(facets.body.data).sort()).toEqual(["accent", "age", "category", "gender", "language", "region", "tone", "total", "useCase"]);
      if (voices.length) expect(Object.values(tiers).reduce((a, b) => a + b, 0)).toBe(facets.body.data.total);
    }
    if (hasEspeak) {
      const all = (await get("/voices/facets")).body.data;
      const women = (await get("/voices?gender=female")).body.data as Voice[];
      expect(all.gender.female).toBe(women.length);
    }
  });
});

describe("POST /voices/search", () => {
  const search = (body: unknown) => app.api("POST", "/api/v1/voices/search", { key, body });

  it.skipIf(!hasEspeak)("ranks voices matching the description first and says how it read the query", async () => {
    const res = await search({ query: "a female voice with a caribbean accent", limit: 3 });
    expect(res.status).toBe(200);
    expect(res.body.data.filters).toMatchObject({ gender: "female" });
    expect(res.body.data.voices.length).toBe(3);
    expect(res.body.data.voices[0].id).toBe("espeak:en-029+f3");
  });

  it("scopes to a language and defaults to five results", async () => {
    const res = await search({ query: "friendly voice", language: "fr" });
    expect(res.status).toBe(200);
    expect(res.body.data.voices.length).toBeLessThanOrEqual(5);
    for (const v of res.body.data.voices) expect(v.id.startsWith("server:") || v.language.startsWith("fr")).toBe(true);
  });

  it("caps the limit server-side and refuses a missing query", async () => {
    expect((await search({ query: "voice", limit: 500 })).body.data.voices.length).toBeLessThanOrEqual(25);
    const bad = await search({ limit: 3 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).join(" ")).toContain("query");
  });
});
