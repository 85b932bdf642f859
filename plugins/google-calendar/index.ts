// Google Calendar: free slots across the operator's calendars within opening hours (Calendar API v3 freeBusy), and
// booking one (events.insert). A booking is idempotent per conversation: its event id is derived from the
// conversation and the slot (Google takes client-chosen ids in base32hex), so a retried turn finds the event it
// made instead of booking twice; a slot taken meanwhile is refused with the next free one.
import { createHash } from "node:crypto";
import { type CompiledOperation, definePlugin, PluginError, type PluginContext, Type } from "../../src/api/integrations/contract.ts";
import { googleAuth, googleCall, googleFailure, listSetting } from "../google-common/google.ts";
import { dayStart, freeSlots, hoursOf, type Hours, type Interval, isFree, localIso, parseSlot, spoken, withinHours } from "./slots.ts";

const API = "https://www.googleapis.com/calendar/v3";
const MINUTE = 60_000;
/** How far ahead free slots are looked for. */
const SEARCH_DAYS = 14;

const SETTINGS = [
  { name: "calendarIds", description: "Calendars whose busy times count (a list or comma-separated; default primary); bookings go to the first", required: false },
  { name: "timeZone", description: "IANA time zone of the opening hours, e.g. America/Chicago (default: the agent's time zone, else UTC)", required: false },
  { name: "openingHours", description: `Bookable hours each open day, e.g. "08:00-17:00" (default: the agent's business hours, else 09:00-17:00)`, required: false },
  { name: "openDays", description: "Open days, e.g. mon,tue,wed,thu,fri (default: the agent's open days, else Monday to Friday)", required: false },
  { name: "slotMinutes", description: "Length of an appointment in minutes (default 60)", required: false },
  { name: "bufferMinutes", description: "Free time kept before and after each appointment (default 0)", required: false },
  { name: "slotsOffered", description: "How many free slots to offer at once (default 3)", required: false },
];

const settingsOf = (operation: CompiledOperation) => (operation.settings && typeof operation.settings === "object" ? (operation.settings as Record<string, unknown>) : {});

export default definePlugin({
  kind: "google_calendar",
  name: "Google Calendar",
  category: "calendar",
  version: "1.0.0",
  description: "Offer free appointment slots from your Google calendars and book them for callers.",
  skillType: "calendar",
  auth: googleAuth(["https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.freebusy"]),
  actions: [
    {
      slug: "check_availability",
      name: "Check availability",
      description: "Check availability: find the next free appointment times on the calendar, for the caller to choose from",
      isWrite: false,
      important: true,
      parameters: Type.Object({ date: Type.Optional(Type.String({ format: "date", description: "The day the caller would like (YYYY-MM-DD); omit for the soonest" })) }),
      operatorConfig: SETTINGS,
      operation: "availability",
    },
    {
      slug: "book_appointment",
      name: "Book appointment",
      description: "Book an appointment: put the caller's visit on the calendar at the time they chose",
      isWrite: true,
      important: true,
      parameters: Type.Object({
        start: Type.String({ format: "date-time", description: "The appointment's start, in the calendar's time zone (YYYY-MM-DDTHH:MM, as check_availability answers it)" }),
        caller_name: Type.String({ description: "The caller's full name" }),
        caller_phone: Type.String({ description: "A phone number to reach the caller" }),
        reason: Type.Optional(Type.String({ description: "What the visit is for" })),
      }),
      operatorConfig: SETTINGS,
      operation: "book",
    },
  ],
  pack: {
    guidance:
      "Appointment booking: check availability first and read the caller two or three free times; once they pick one, take their name and a callback number, confirm the time back, then book it. If the time was just taken, offer the next free one the booking answered.",
    skills: [
      {
        slug: "check_availability",
        name: "Check availability",
        description: "Check availability: find the next free appointment times on the calendar, for the caller to choose from",
        skillType: "calendar",
        parametersSchema: { type: "object", properties: { date: { type: "string", format: "date", description: "The day the caller would like (YYYY-MM-DD); omit for the soonest" } }, required: [] },
        executionConfig: { operation: "availability" },
        isWrite: false,
      },
      {
        slug: "book_appointment",
        name: "Book appointment",
        description: "Book an appointment: put the caller's visit on the calendar at the time they chose",
        skillType: "calendar",
        parametersSchema: {
          type: "object",
          properties: {
            start: { type: "string", format: "date-time", description: "The appointment's start, in the calendar's time zone (YYYY-MM-DDTHH:MM, as check_availability answers it)" },
            caller_name: { type: "string", description: "The caller's full name" },
            caller_phone: { type: "string", description: "A phone number to reach the caller" },
            reason: { type: "string", description: "What the visit is for" },
          },
          required: ["start", "caller_name", "caller_phone"],
        },
        executionConfig: { operation: "book" },
        isWrite: true,
      },
    ],
  },
  async execute(operation, args, ctx) {
    const settings = settingsOf(operation);
    const hours = hoursOf(settings, ctx.agentHours);
    const calendars = listSetting(settings.calendarIds, ["primary"]);
    if (operation.operation === "availability") return availability(ctx, hours, calendars, settings, args);
    if (operation.operation === "book") return book(ctx, hours, calendars, settings, args);
    throw new PluginError("invalid_binding", `google_calendar has no operation ${operation.operation}`);
  },
});

async function availability(ctx: PluginContext, hours: Hours, calendars: string[], settings: Record<string, unknown>, args: Record<string, unknown>) {
  const now = Date.now();
  const day = typeof args.date === "string" && args.date ? dayStart(args.date, hours.timeZone) : null;
  if (typeof args.date === "string" && args.date && day === null) throw new PluginError("invalid_input", "the day should be a date such as 2026-12-15", ["date"]);
  const from = Math.max(now, day ?? now);
  const count = Math.min(Math.max(Number(settings.slotsOffered) || 3, 1), 10);
  const busy = await busyTimes(ctx, calendars, from - hours.bufferMinutes * MINUTE, from + SEARCH_DAYS * 24 * 60 * MINUTE, hours.timeZone);
  const slots = freeSlots(from, hours, busy, count, SEARCH_DAYS);
  if (!slots.length) throw new PluginError("not_found", `no free appointment in the next ${SEARCH_DAYS} days`);
  return { rows: slots.map((start) => ({ slot: spoken(start, hours.timeZone), start: localIso(start, hours.timeZone) })) };
}

async function book(ctx: PluginContext, hours: Hours, calendars: string[], settings: Record<string, unknown>, args: Record<string, unknown>) {
  const start = typeof args.start === "string" ? parseSlot(args.start, hours.timeZone) : null;
  if (start === null) throw new PluginError("invalid_input", "the appointment time should be a date and time such as 2026-12-15T10:00", ["start"]);
  const end = start + hours.slotMinutes * MINUTE;
  const calendarId = calendars[0]!;
  const eventsUrl = `${API}/calendars/${encodeURIComponent(calendarId)}/events`;
  // The same conversation asking for the same slot again (a retried turn) finds the event it already made.
  const eventId = ctx.conversationId ? eventIdOf(ctx.conversationId, calendarId, start) : null;
  if (eventId) {
    const existing = await googleCall(ctx, `${eventsUrl}/${eventId}`);
    if (existing.status === 200 && existing.body.status !== "cancelled") return booked(existing.body, start, hours);
    if (existing.status !== 404 && existing.status !== 200) throw googleFailure(existing, "look up the booking");
  }
  if (start < Date.now()) throw new PluginError("invalid_input", "that time has already passed", ["start"]);
  const busy = await busyTimes(ctx, calendars, start - hours.bufferMinutes * MINUTE, end + hours.bufferMinutes * MINUTE + SEARCH_DAYS * 24 * 60 * MINUTE, hours.timeZone);
  if (!withinHours(start, hours) || !isFree(start, hours, busy)) {
    const [next] = freeSlots(start, hours, busy, 1, SEARCH_DAYS);
    const reason = withinHours(start, hours) ? "that time is already taken" : "that time is outside opening hours";
    const offer = next === undefined ? "there is no free time in the next two weeks" : `the next free time is ${spoken(next, hours.timeZone)} (${localIso(next, hours.timeZone)})`;
    throw new PluginError(withinHours(start, hours) ? "conflict" : "invalid_input", `${reason}; ${offer}`, ["start"]);
  }
  const name = String(args.caller_name ?? "").slice(0, 200);
  const phone = String(args.caller_phone ?? "").slice(0, 50);
  const reason = typeof args.reason === "string" && args.reason ? args.reason.slice(0, 500) : null;
  const event = {
    ...(eventId ? { id: eventId } : {}),
    summary: `${reason ?? (typeof settings.eventTitle === "string" ? settings.eventTitle : "Appointment")}: ${name}`.slice(0, 300),
    description: [`Caller: ${name}`, `Phone: ${phone}`, ...(reason ? [`Reason: ${reason}`] : []), "Booked by the phone agent."].join("\n"),
    start: { dateTime: new Date(start).toISOString(), timeZone: hours.timeZone },
    end: { dateTime: new Date(end).toISOString(), timeZone: hours.timeZone },
    ...(ctx.conversationId ? { extendedProperties: { private: { conversationId: ctx.conversationId } } } : {}),
  };
  const created = await googleCall(ctx, eventsUrl, { method: "POST", body: event });
  if (created.status === 200) return booked(created.body, start, hours);
  // Two tries of the same turn racing: the other one made the event, which is this booking too.
  if (created.status === 409 && eventId) {
    const existing = await googleCall(ctx, `${eventsUrl}/${eventId}`);
    if (existing.status === 200) return booked(existing.body, start, hours);
  }
  throw googleFailure(created, "book the appointment");
}

function booked(event: Record<string, unknown>, start: number, hours: Hours) {
  return { rows: [{ booked: true, event_id: String(event.id ?? ""), slot: spoken(start, hours.timeZone), start: localIso(start, hours.timeZone) }] };
}

/** Busy intervals across the calendars (freeBusy.query); a calendar Google cannot read is the operator's mistake. */
async function busyTimes(ctx: PluginContext, calendars: string[], from: number, to: number, timeZone: string): Promise<Interval[]> {
  const answer = await googleCall(ctx, `${API}/freeBusy`, { method: "POST", body: { timeMin: new Date(from).toISOString(), timeMax: new Date(to).toISOString(), timeZone, items: calendars.map((id) => ({ id })) } });
  if (answer.status !== 200) throw googleFailure(answer, "read the calendar's free and busy times");
  const found = (answer.body.calendars ?? {}) as Record<string, { busy?: { start: string; end: string }[]; errors?: { reason?: string }[] }>;
  const busy: Interval[] = [];
  for (const id of calendars) {
    const calendar = found[id];
    if (!calendar || calendar.errors?.length) throw new PluginError("refused", `the connected Google account cannot read calendar ${id} (${calendar?.errors?.[0]?.reason ?? "not found"})`);
    for (const b of calendar.busy ?? []) busy.push({ start: Date.parse(b.start), end: Date.parse(b.end) });
  }
  return busy;
}

/** base32hex (0-9, a-v), the alphabet Google allows in client-chosen event ids; 32 characters of a SHA-256. */
function eventIdOf(conversationId: string, calendarId: string, start: number): string {
  const digest = createHash("sha256").update(`${conversationId}\0${calendarId}\0${start}`).digest();
  let out = "";
  for (let i = 0; i < 32; i++) out += "0123456789abcdefghijklmnopqrstuv"[digest[i]! % 32];
  return out;
}
