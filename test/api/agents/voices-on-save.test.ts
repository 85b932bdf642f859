// Create and PATCH refuse voices that are not installed, or do not speak their language, exactly as
// PUT /agents/{id}/voice does. espeak-ng's voices are the ones every installation can have (CI and the image install
// it); without espeak-ng there is no installed voice to accept, and every voice is refused.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createLogger } from "../../../src/platform/log.ts";
import { createSpeech, VoiceCatalog } from "../../../voice/speech/index.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const hasEspeak = Bun.which("espeak-ng") !== null;
const english = "espeak:en-us";
const spanish = "espeak:es";
const missing = "piper:nobody-here";

let app: TestApp;
let key: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
});
afterAll(() => app.stop());

const create = (body: Record<string, unknown>) => app.api("POST", "/api/v1/agents", { key, body });
const patch = (id: string, body: Record<string, unknown>) => app.api("PATCH", `/api/v1/agents/${id}`, { key, body });
const putVoice = (id: string, body: Record<string, unknown>) => app.api("PUT", `/api/v1/agents/${id}/voice`, { key, body });

describe("voices on create", () => {
  it("refuses a voice that is not installed with PUT's status and code, naming each field", async () => {
    const res = await create({ name: "Ghost voice", languages: ["en", "es"], voiceMap: { en: missing, es: "server:nobody" }, defaultVoiceId: missing });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(res.body.code).toBe("voice_not_found");
    expect(res.body.errors).toEqual([
      { field: "voiceMap.en", message: "is not an installed voice" },
      { field: "voiceMap.es", message: "is not an installed voice" },
      { field: "defaultVoiceId", message: "is not an installed voice" },
    ]);

    const { body } = await create({ name: "Reference" });
    const put = await putVoice(body.data.id, { voiceId: missing });
    expect({ status: put.status, code: put.body.code }).toEqual({ status: res.status, code: res.body.code });
    const names = (await app.api("GET", "/api/v1/agents?limit=100", { key })).body.data.map((a: { name: string }) => a.name);
    expect(names).not.toContain("Ghost voice");
  });

  it.skipIf(hasEspeak)("refuses an espeak-ng voice where espeak-ng is not installed", async () => {
    const res = await create({ name: "No espeak", voiceMap: { en: english } });
    expect(res.status).toBe(404);
    expect(res.body.errors).toEqual([{ field: "voiceMap.en", message: "is not an installed voice" }]);
  });

  it.skipIf(!hasEspeak)("accepts installed voices that speak their language", async () => {
    const res = await create({ name: "Bilingual", languages: ["en", "es"], voiceMap: { en: english, es: spanish }, defaultVoiceId: english });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ voiceMap: { en: english, es: spanish }, defaultVoiceId: english });
  });

  it.skipIf(!hasEspeak)("refuses a voice that does not speak its language with PUT's status and code", async () => {
    const res = await create({ name: "Mismatched", languages: ["en", "es"], voiceMap: { en: spanish, es: spanish }, defaultVoiceId: spanish });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("voice_language_unsupported");
    expect(res.body.errors).toEqual([
      { field: "voiceMap.en", message: "does not speak en" },
      { field: "defaultVoiceId", message: "does not speak en" },
    ]);
    const { body } = await create({ name: "Reference", languages: ["en", "es"] });
    const put = await putVoice(body.data.id, { voiceId: spanish, language: "en" });
    expect({ status: put.status, code: put.body.code }).toEqual({ status: res.status, code: res.body.code });
  });
});

describe("voices on PATCH", () => {
  it("refuses a voice that is not installed and leaves the agent as it was", async () => {
    const { body } = await create({ name: "Patched" });
    const id = body.data.id;
    const map = await patch(id, { voiceMap: { en: missing } });
    expect(map.status).toBe(404);
    expect(map.body.code).toBe("voice_not_found");
    expect(map.body.errors).toEqual([{ field: "voiceMap.en", message: "is not an installed voice" }]);
    const def = await patch(id, { defaultVoiceId: missing, greeting: "Hi" });
    expect(def.status).toBe(404);
    expect(def.body.errors).toEqual([{ field: "defaultVoiceId", message: "is not an installed voice" }]);
    expect((await app.api("GET", `/api/v1/agents/${id}`, { key })).body.data).toMatchObject({ version: 1, voiceMap: {}, defaultVoiceId: null, greeting: body.data.greeting });
  });

  it.skipIf(!hasEspeak)("accepts installed voices and refuses one that does not speak its language", async () => {
    const { body } = await create({ name: "Patched voices", languages: ["en", "es"] });
    const id = body.data.id;
    const ok = await patch(id, { voiceMap: { en: english, es: spanish }, defaultVoiceId: english });
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ voiceMap: { en: english, es: spanish }, defaultVoiceId: english, version: 2 });
    const wrong = await patch(id, { defaultVoiceId: spanish });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe("voice_language_unsupported");
    expect(wrong.body.errors).toEqual([{ field: "defaultVoiceId", message: "does not speak en" }]);
    const cleared = await patch(id, { voiceMap: {}, defaultVoiceId: null });
    expect(cleared.body.data).toMatchObject({ voiceMap: {}, defaultVoiceId: null, version: 3 });
  });
});

describe.skipIf(!hasEspeak)("an agent whose voice was uninstalled", () => {
  // The catalog as it would read after the operator removed espeak:en-us (a Piper voice deleted from MODELS_DIR).
  let uninstalled: TestApp;
  let k: string;
  const removed = new Set<string>();
  beforeAll(async () => {
    const speech = createSpeech({ modelsDir: "/nonexistent", speech: null }, createLogger("error"), { languages: ["en", "es"] });
    uninstalled = await startTestApp({}, { speech: { ...speech, catalog: new VoiceCatalog(() => speech.tts.voices().filter((v) => !removed.has(v.id))) } });
    ({ key: k } = await uninstalled.newOrg());
  });
  afterAll(() => uninstalled.stop());

  it("can still be edited, and sent back its stored voices, but not given the missing voice anew", async () => {
    removed.clear();
    const { body } = await uninstalled.api("POST", "/api/v1/agents", { key: k, body: { name: "Orphan", languages: ["en", "es"], voiceMap: { en: english }, defaultVoiceId: english } });
    const id = body.data.id;
    removed.add(english);

    const edit = await uninstalled.api("PATCH", `/api/v1/agents/${id}`, { key: k, body: { greeting: "Hello again" } });
    expect(edit.status).toBe(200);
    const echoed = await uninstalled.api("PATCH", `/api/v1/agents/${id}`, { key: k, body: { voiceMap: { en: english, es: spanish }, defaultVoiceId: english } });
    expect(echoed.status).toBe(200);
    expect(echoed.body.data.voiceMap).toEqual({ en: english, es: spanish });

    const anew = await uninstalled.api("POST", "/api/v1/agents", { key: k, body: { name: "New", defaultVoiceId: english } });
    expect(anew.status).toBe(404);
    expect(anew.body.errors).toEqual([{ field: "defaultVoiceId", message: "is not an installed voice" }]);
    const moved = await uninstalled.api("PATCH", `/api/v1/agents/${id}`, { key: k, body: { voiceMap: { es: english } } });
    expect(moved.status).toBe(404);
    expect(moved.body.errors).toEqual([{ field: "voiceMap.es", message: "is not an installed voice" }]);
  });
});
