// The HVAC agent of calendar.test.ts with the OpenAI-compatible brain (a scripted model server): the model reads the
// free slots through check_availability and books the caller's pick through book_appointment, against the Google
// OAuth 2.0 and Calendar v3 stand-ins; the caller confirming twice still books one visit.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder } from "../../support/agent-builder.ts";
import { callsThisTurn, lastUser, type ScriptedLlm, startScriptedLlm, toolResults } from "../../support/scripted-llm.ts";
import { connectOverHttp, startGoogle } from "./support.ts";

let g: Awaited<ReturnType<typeof startGoogle>>;
let llm: ScriptedLlm;
const ZONE = "America/Denver";

function aThursdayAhead() {
  const d = new Date(Date.now() + 10 * 86_400_000);
  while (d.getUTCDay() !== 4) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
const day = aThursdayAhead();

beforeAll(async () => {
  llm = startScriptedLlm((request) => {
    const tool = (part: string) => request.tools?.find((t) => t.function.name.toLowerCase().includes(part))?.function.name ?? `missing_${part}`;
    const said = lastUser(request).toLowerCase();
    const results = toolResults(request);
    if (callsThisTurn(request) > 0) {
      const last = results.at(-1);
      if (last?.rows) return { content: `I can offer ${last.rows.map((r: { slot: string }) => r.slot).join(", or ")}.` };
      return { content: last?.booked ? `You're booked for ${last.slot}.` : "Sorry, that did not work." };
    }
    if (said.includes("available")) return { toolCalls: [{ name: tool("availability"), arguments: { date: day } }] };
    if (said.includes("book") || said.includes("yes")) {
      return { toolCalls: [{ name: tool("book"), arguments: { start: `${day}T09:00`, caller_name: "Lee Park", caller_phone: "+17205550123", reason: "No heat" } }] };
    }
    return { content: "How can I help?" };
  });
  g = await startGoogle({ LLM_BASE_URL: `${llm.baseUrl}/v1`, LLM_MODEL: "scripted" });
});

afterAll(async () => {
  await g?.stop();
  llm?.stop();
});

describe("an HVAC agent with the OpenAI-compatible brain (Google Calendar v3 stand-in)", () => {
  it("checks availability and books the caller's pick through the model's tool calls, once", async () => {
    const { key } = await g.app.newOrg("Mile High HVAC");
    expect((await connectOverHttp(g.app, g.google.url, key, "google_calendar")).status).toBe(200);
    const b = agentBuilder(g.app, key);
    const agent = await b.agent({ name: "Mile High HVAC", greeting: "Mile High HVAC, how can I help?" });
    const pack = await g.app.api("POST", `/api/v1/agents/${agent.id}/integrations/google_calendar/provision`, { key, body: {} });
    for (const { skill } of pack.body.data) {
      await g.app.api("PATCH", `/api/v1/agents/${agent.id}/skills/${skill.id}`, { key, body: { executionConfig: { ...skill.executionConfig, settings: { timeZone: ZONE, openingHours: "09:00-12:00", slotMinutes: 90 } } } });
    }
    const run = await b.simulate(agent.id, { transcript: ["When are you available?", "Please book the first one", "Yes", "Please book the first one", "Yes"] });
    expect(run.status).toBe(200);
    const calls = run.events.filter((e) => e.eventType === "tool_call").map((e) => e.payload);
    expect(calls[0]).toMatchObject({ operation: "availability", status: "ok" });
    expect(calls[0].result.rows.map((r: { start: string }) => r.start)).toEqual([`${day}T09:00`, `${day}T10:30`, `${day}T09:00`.replace(day, nextDay(day))]);
    const books = calls.filter((c) => c.operation === "book");
    // The model asked to book on two turns of the conversation: the second found the first one's event.
    expect(books.length).toBeGreaterThanOrEqual(2);
    expect(new Set(books.map((c) => c.result.event_id)).size).toBe(1);
    expect(books.every((c) => c.status === "ok")).toBe(true);
    expect(run.said.join(" ")).toContain("You're booked for Thursday");
    const visits = [...g.calendar.calendar("primary").values()].filter((e) => e.summary.includes("Lee Park"));
    expect(visits).toHaveLength(1);
    expect(visits[0]!.summary).toBe("No heat: Lee Park");
  });
});

function nextDay(iso: string) {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
