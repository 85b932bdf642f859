// The runtime's fixed sentences: said in the conversation's language from the phrase table, recorded by id on the
// receipt, and read by id in summaries, so rewording or translating a sentence changes nothing else.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { en } from "../../src/runtime/phrases/en.ts";
import { PHRASES, phrase, Phrases, type PhraseTable } from "../../src/runtime/phrases/index.ts";
import { compiled, runtime, startHarness, talk, webhookSkill, type Harness } from "./conversation-harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness(() => ({}));
});
afterAll(() => h.stop());

// Tuesday 2026-11-24 20:00 UTC: closed, open again Wednesday 09:00.
const CLOSED = Date.UTC(2026, 10, 24, 20, 0);
const weekdays = Object.fromEntries(["monday", "tuesday", "wednesday", "thursday", "friday"].map((d) => [d, [{ start: "09:00", end: "17:00" }]]));
const hours = (afterHours: Record<string, unknown> = { mode: "full" }) => ({ timezone: "UTC", weekly: weekdays, afterHours });

describe("the phrase table", () => {
  it("has every sentence in every language it ships, with the same parameters as the English", () => {
    for (const [language, table] of Object.entries(PHRASES)) {
      for (const [id, english] of Object.entries(en)) {
        const translated = table[id as keyof typeof en];
        expect(translated, `${language} ${id}`).toBeString();
        expect([...translated!.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort(), `${language} ${id}`).toEqual([...english.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort());
      }
    }
  });

  it("renders parameters, nested phrases and lists in the language asked for, a regional tag by its language, else English", () => {
    const phrases = new Phrases();
    const opening = phrase("hours.opening_day", { day: phrase("weekday.wednesday"), time: "09:00" });
    expect(phrases.render(phrase("greeting.closed_until", { opening }), "de")).toBe("Wir haben gerade geschlossen und öffnen wieder am Mittwoch um 09:00 Uhr.");
    expect(phrases.render(phrase("greeting.closed_until", { opening }), "fr-CA")).toBe("Nous sommes fermés en ce moment et rouvrons mercredi à 09:00.");
    expect(phrases.render(phrase("greeting.closed_until", { opening }), "ja")).toBe("We're closed right now and open again Wednesday at 09:00.");
    const ranges = [phrase("hours.range", { start: "09:00", end: "12:00" }), phrase("hours.range", { start: "13:00", end: "17:00" })];
    expect(phrases.render(phrase("hours.day", { day: phrase("weekday.monday"), ranges }), "es")).toBe("lunes de 09:00 a 12:00 y 13:00 a 17:00");
  });

  it("says what it is given as a sentence of a table that lacks it in English", () => {
    const phrases = new Phrases({ en: { thanks: "Cheers." }, de: {} });
    expect(phrases.speak([phrase("thanks"), "Free text.", phrase("ask.field", { field: "name" })], "de")).toEqual({
      text: "Cheers. Free text. What is your name?",
      phrases: [{ id: "thanks" }, { id: "ask.field", params: { field: "name" } }],
    });
  });
});

describe("a German agent", () => {
  const german = (extra: Parameters<typeof compiled>[0] = {}) => compiled({ languages: ["de"], primaryLanguage: "de", greeting: "Guten Tag, hier ist die Praxis Müller.", ...extra });

  it("says its fixed sentences in German, records their ids, and is summarized from the ids", async () => {
    const c = german({ businessHours: hours({ mode: "take_message" }) });
    const rt = runtime(h, c, { clock: () => CLOSED });
    const t = await talk(rt, h, c, "voice", { callerNumber: "+498912345678" });
    expect(t.greeting).toEqual([
      "Guten Tag, hier ist die Praxis Müller. Wir haben gerade geschlossen und öffnen wieder am Mittwoch um 09:00 Uhr. Ich kann gern eine Nachricht für das Team aufnehmen. Was soll ich ausrichten?",
    ]);
    expect(t.payloads("agent_message")[0]).toMatchObject({
      language: "de",
      phrases: [{ id: "greeting.closed_until", params: { opening: { id: "hours.opening_day", params: { day: { id: "weekday.wednesday" }, time: "09:00" } } } }, { id: "message.offer" }],
    });
    expect(await t.ask("Bitte rufen Sie mich wegen der Rechnung zurück")).toEqual(["Danke. Unter welcher Nummer sind Sie am besten zu erreichen?"]);
    expect(await t.ask("030 123456789")).toEqual(["Alles klar. Ich gebe Ihre Nachricht weiter, und jemand meldet sich bei Ihnen. Kann ich sonst noch etwas tun?"]);
    expect(t.payloads("agent_message").at(-1)!.phrases).toEqual([{ id: "message.taken" }]);
    // A callback number said without its country code is read in the caller's own country (they call from Germany).
    expect(((await rt.describe(h.organizationId, t.id))!.state as { variables: Record<string, unknown> }).variables.callback_number).toBe("+4930123456789");
    await rt.end(h.organizationId, t.id, "caller_hung_up");
    expect((await rt.describe(h.organizationId, t.id))!.summary).toBe('Caller said "Bitte rufen Sie mich wegen der Rechnung zurück"; left a message.');
  });

  it("answers an hours question and says it does not know in German", async () => {
    const c = german({ businessHours: hours() });
    const rt = runtime(h, c, { clock: () => CLOSED });
    const t = await talk(rt, h, c);
    // The built-in brain recognizes an hours question by English words (its matching is not this test's subject).
    expect(await t.ask("What are your hours?")).toEqual([
      "Wir haben gerade geschlossen; wir öffnen wieder am Mittwoch um 09:00 Uhr. Unsere Öffnungszeiten: Montag 09:00 bis 17:00 Uhr, Dienstag 09:00 bis 17:00 Uhr, Mittwoch 09:00 bis 17:00 Uhr, Donnerstag 09:00 bis 17:00 Uhr und Freitag 09:00 bis 17:00 Uhr (Zeitzone UTC).",
    ]);
    expect(await t.ask("Was kostet eine Zahnreinigung?")).toEqual(["Das tut mir leid, darauf weiß ich keine Antwort."]);
    expect(t.payloads("agent_message").at(-1)!.phrases).toEqual([{ id: "answer.unknown" }]);
    await rt.end(h.organizationId, t.id, "caller_hung_up");
    expect((await rt.describe(h.organizationId, t.id))!.summary).toBe('Caller asked "What are your hours?"; the agent could not answer.');
  });
});

describe("operator words inside a German sentence", () => {
  it("keep their capitals, as German nouns do", async () => {
    const book = webhookSkill(h, "termin_buchen", "Termin buchen", "/book", { requiresConfirmation: true });
    const c = compiled({ languages: ["de"], primaryLanguage: "de" }, { skills: [book] });
    const t = await talk(runtime(h, c), h, c);
    expect(await t.ask("Termin buchen")).toEqual(["Zur Bestätigung: Termin buchen. Soll ich das so ausführen?"]);
    expect(t.payloads("agent_message").at(-1)!.phrases).toEqual([{ id: "confirm.ask", params: { action: "Termin buchen" } }, { id: "confirm.go_ahead" }]);
  });
});

describe("a reworded sentence", () => {
  it("is said as the table words it, and summaries still read what happened", async () => {
    const table: PhraseTable = { ...PHRASES, en: { ...en, "answer.unknown": "No idea, sorry!", "message.ask_callback": "Lovely. And your number?" } };
    const c = compiled({ businessHours: hours({ mode: "take_message" }) });
    const rt = runtime(h, compiled(), { phrases: table });
    const asked = await talk(rt, h, compiled());
    expect(await asked.ask("What does a cleaning cost?")).toEqual(["No idea, sorry!"]);
    await rt.end(h.organizationId, asked.id, "caller_hung_up");
    expect((await rt.describe(h.organizationId, asked.id))!.summary).toBe('Caller asked "What does a cleaning cost?"; the agent could not answer.');

    const reworded = { ...table, en: { ...table.en, "message.taken": "Noted, we'll ring you back." } };
    const rt2 = runtime(h, c, { clock: () => CLOSED, phrases: reworded });
    const message = await talk(rt2, h, c);
    expect(await message.ask("The boiler is leaking again")).toEqual(["Lovely. And your number?"]);
    expect(await message.ask("415 555 0100")).toEqual(["Noted, we'll ring you back."]);
    await rt2.end(h.organizationId, message.id, "caller_hung_up");
    expect((await rt2.describe(h.organizationId, message.id))!.summary).toBe('Caller said "The boiler is leaking again"; left a message.');
  });
});
