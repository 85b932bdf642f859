// An HVAC company's agent on Google Calendar (Google OAuth 2.0 and Calendar v3 stand-ins): it reads free slots across
// two calendars within opening hours and buffers, books the one the caller picks, books once however often the
// turn is repeated, and refuses a slot taken meanwhile with the next free one.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, type SimulateResult } from "../../support/agent-builder.ts";
import { connectOverHttp, startGoogle } from "./support.ts";

let g: Awaited<ReturnType<typeof startGoogle>>;
const ZONE = "America/Chicago";

/** A Tuesday two to three weeks ahead, so every slot on it is in the future whenever the test runs. */
function aTuesdayAhead() {
  const d = new Date(Date.now() + 14 * 86_400_000);
  while (d.getUTCDay() !== 2) d.setUTCDate(d.getUTCDate() + 1);
  const iso = d.toISOString().slice(0, 10);
  const words = d.toLocaleDateString("en-US", { month: "long", day: "numeric", year: "numeric", timeZone: "UTC" });
  return { iso, words };
}
const day = aTuesdayAhead();
/** A wall-clock time on that day in Chicago as an instant (the test day is in winter or summer: ask Intl). */
function chicago(hhmm: string): string {
  const guess = new Date(`${day.iso}T${hhmm}:00Z`);
  const local = new Date(guess.toLocaleString("en-US", { timeZone: ZONE }));
  const utc = new Date(guess.toLocaleString("en-US", { timeZone: "UTC" }));
  return new Date(guess.getTime() + (utc.getTime() - local.getTime())).toISOString();
}

beforeAll(async () => {
  g = await startGoogle();
  // The office's own calendar is busy 08:00-10:00; the technicians' 11:00-12:00.
  g.calendar.calendar("primary").set("existingvisit0001", { id: "existingvisit0001", status: "confirmed", summary: "Furnace tune-up", description: "", start: { dateTime: chicago("08:00") }, end: { dateTime: chicago("10:00") } });
  g.calendar.busy.set("techs@cool-air-hvac.example", [{ start: chicago("11:00"), end: chicago("12:00") }]);
});

afterAll(async () => {
  await g?.stop();
});

async function hvacAgent(key: string) {
  expect((await connectOverHttp(g.app, g.google.url, key, "google_calendar")).status).toBe(200);
  const b = agentBuilder(g.app, key);
  const agent = await b.agent({ name: "Cool Air HVAC", greeting: "Cool Air HVAC, how can I help?" });
  const provisioned = await g.app.api("POST", `/api/v1/agents/${agent.id}/integrations/google_calendar/provision`, { key, body: { actions: ["check_availability", "book_appointment"] } });
  expect(provisioned.status).toBe(200);
  const settings = { calendarIds: ["primary", "techs@cool-air-hvac.example"], timeZone: ZONE, openingHours: "08:00-17:00", openDays: "mon,tue,wed,thu,fri", slotMinutes: 60, bufferMinutes: 30 };
  for (const { skill } of provisioned.body.data) {
    const patched = await g.app.api("PATCH", `/api/v1/agents/${agent.id}/skills/${skill.id}`, { key, body: { executionConfig: { ...skill.executionConfig, settings } } });
    expect(patched.status).toBe(200);
  }
  return { b, agent };
}

const toolCalls = (run: SimulateResult) => run.events.filter((e) => e.eventType === "tool_call").map((e) => e.payload);

describe("an HVAC agent on Google Calendar (Google Calendar v3 stand-in)", () => {
  it("offers the free slots of both calendars within hours and buffers, and books the one the caller picks, once", async () => {
    const { key } = await g.app.newOrg("Cool Air HVAC");
    const { b, agent } = await hvacAgent(key);

    const booking = `Please book the appointment for 1pm on ${day.words}. My name is Dana Reyes, my number is 415 555 0100`;
    const run = await b.simulate(agent.id, { transcript: [`Can you check availability on ${day.words}?`, booking, "Yes", booking, "Yes"] });
    expect(run.status).toBe(200);
    const calls = toolCalls(run);
    const availability = calls.find((c) => c.operation === "availability")!;
    expect(availability.status).toBe("ok");
    expect(availability.result.rows.map((r: { start: string }) => r.start)).toEqual([`${day.iso}T13:00`, `${day.iso}T14:00`, `${day.iso}T15:00`]);
    expect(availability.result.rows[0].slot).toMatch(/^Tuesday, \w+ \d+ at 1:00\s?PM$/);
    expect(run.said.join(" ")).toContain("1:00");

    const books = calls.filter((c) => c.operation === "book");
    expect(books.length).toBe(2);
    expect(books.map((c) => c.status)).toEqual(["ok", "ok"]);
    expect(books[0].arguments).toMatchObject({ start: `${day.iso}T13:00`, caller_name: "Dana Reyes", caller_phone: "+14155550100" });
    // The repeated turn found the event the first one made: one event, one insert.
    expect(books[1].result.event_id).toBe(books[0].result.event_id);
    const events = [...g.calendar.calendar("primary").values()].filter((e) => e.summary.includes("Dana Reyes"));
    expect(events).toHaveLength(1);
    expect(events[0]!.start.dateTime).toBe(chicago("13:00"));
    expect(events[0]!.description).toContain("+14155550100");
    expect(g.calendar.insertAttempts.filter((id) => id === books[0].result.event_id)).toHaveLength(1);
  });

  it("installs the appointment-booking pack: both presets, signed, runnable", async () => {
    const { key } = await g.app.newOrg("Cool Air HVAC, pack");
    expect((await connectOverHttp(g.app, g.google.url, key, "google_calendar")).status).toBe(200);
    const pack = await g.app.api("GET", "/api/v1/integrations/google_calendar/pack", { key });
    expect(pack.body.data.skills.map((s: { slug: string }) => s.slug)).toEqual(["check_availability", "book_appointment"]);
    expect(pack.body.data.guidance).toContain("check availability first");
    const b = agentBuilder(g.app, key);
    const agent = await b.agent({ name: "Cool Air HVAC", greeting: "Cool Air HVAC, how can I help?" });
    const installed = await g.app.api("POST", `/api/v1/agents/${agent.id}/integrations/google_calendar/pack/install`, { key });
    expect(installed.status).toBe(200);
    expect(installed.body.data.map((r: { created: boolean; skill: { skillType: string } }) => [r.created, r.skill.skillType])).toEqual([
      [true, "calendar"],
      [true, "calendar"],
    ]);
    const run = await b.simulate(agent.id, { transcript: [`Can you check availability on ${day.words}?`] });
    expect(toolCalls(run)[0]).toMatchObject({ operation: "availability", status: "ok" });
  });

  it("offers slots within the agent's own business hours and time zone when the action sets none", async () => {
    const { key } = await g.app.newOrg("Cool Air HVAC, agent hours");
    expect((await connectOverHttp(g.app, g.google.url, key, "google_calendar")).status).toBe(200);
    const b = agentBuilder(g.app, key);
    // Open on Tuesdays 15:00-17:00 Chicago time only; the action keeps its calendars and slot length, nothing else.
    const agent = await b.agent({ name: "Cool Air HVAC", greeting: "Cool Air HVAC, how can I help?", businessHours: { timezone: ZONE, weekly: { tuesday: [{ start: "15:00", end: "17:00" }] } } });
    const provisioned = await g.app.api("POST", `/api/v1/agents/${agent.id}/integrations/google_calendar/provision`, { key, body: { actions: ["check_availability"] } });
    const [{ skill }] = provisioned.body.data;
    await g.app.api("PATCH", `/api/v1/agents/${agent.id}/skills/${skill.id}`, { key, body: { executionConfig: { ...skill.executionConfig, settings: { calendarIds: ["primary"], slotMinutes: 60 } } } });
    const run = await b.simulate(agent.id, { transcript: [`Can you check availability on ${day.words}?`] });
    const [availability] = toolCalls(run);
    expect(availability.status).toBe("ok");
    // Three slots are offered: that Tuesday's two, then the next open day's first, a week on.
    const weekOn = new Date(Date.parse(`${day.iso}T12:00:00Z`) + 7 * 86_400_000).toISOString().slice(0, 10);
    expect(availability.result.rows.map((r: { start: string }) => r.start)).toEqual([`${day.iso}T15:00`, `${day.iso}T16:00`, `${weekOn}T15:00`]);
  });

  it("refuses a slot taken meanwhile and offers the next free one", async () => {
    const { key } = await g.app.newOrg("Cool Air HVAC, second line");
    const { b, agent } = await hvacAgent(key);
    // Another caller has just taken 14:00 (the technicians' calendar shows it busy).
    g.calendar.busy.get("techs@cool-air-hvac.example")!.push({ start: chicago("14:00"), end: chicago("15:00") });
    const run = await b.simulate(agent.id, { transcript: [`Please book the appointment for 2pm on ${day.words}. My name is Sam Ortiz, my number is 415 555 0199`, "Yes"] });
    const [book] = toolCalls(run).filter((c) => c.operation === "book");
    expect(book.status).toBe("error");
    expect(book.errorCode).toBe("conflict");
    // 15:00 would start inside the 30-minute buffer after the 14:00 visit: 16:00 is next.
    expect(JSON.stringify(book)).toContain(`${day.iso}T16:00`);
    expect([...g.calendar.calendar("primary").values()].some((e) => e.summary.includes("Sam Ortiz"))).toBe(false);
  });
});
