// Free slots from busy intervals: the opening hours are wall-clock times in the calendar's time zone, a slot is free
// when nothing busy overlaps it widened by the buffer on both sides, and each slot is said the way a person says it.
import { type AgentHours, PluginError } from "../../src/api/integrations/contract.ts";

export interface Interval {
  start: number;
  end: number;
}

export interface Hours {
  timeZone: string;
  /** Bookable ranges by weekday (0 = Sunday … 6 = Saturday), in minutes after local midnight; a day without any is closed. */
  ranges: Map<number, [open: number, close: number][]>;
  slotMinutes: number;
  bufferMinutes: number;
}

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MINUTE = 60_000;

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

/**
 * Bookable hours: the action's own settings when the operator gave opening hours or days; otherwise the agent's
 * business hours (its weekly ranges, in its time zone); otherwise 09:00-17:00, Monday to Friday. The time zone is the
 * settings', else the agent's, else UTC. Refused (invalid_binding) when the operator wrote something unreadable.
 */
export function hoursOf(settings: Record<string, unknown>, agent?: AgentHours): Hours {
  const timeZone = typeof settings.timeZone === "string" && settings.timeZone ? settings.timeZone : (agent?.timeZone ?? "UTC");
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new PluginError("invalid_binding", `settings.timeZone "${timeZone}" is not an IANA time zone such as America/Chicago`, ["settings.timeZone"]);
  }
  const slotMinutes = whole(settings.slotMinutes, 60, 5, 24 * 60);
  const bufferMinutes = whole(settings.bufferMinutes, 0, 0, 240);
  const operatorSet = (typeof settings.openingHours === "string" && settings.openingHours) || (typeof settings.openDays === "string" && settings.openDays);
  const agentRanges = agent ? weeklyRanges(agent) : null;
  if (!operatorSet && agentRanges) return { timeZone, ranges: agentRanges, slotMinutes, bufferMinutes };
  const range = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(typeof settings.openingHours === "string" ? settings.openingHours : "09:00-17:00");
  if (!range) throw new PluginError("invalid_binding", 'settings.openingHours must look like "08:00-17:00"', ["settings.openingHours"]);
  const open = Number(range[1]) * 60 + Number(range[2]);
  const close = Number(range[3]) * 60 + Number(range[4]);
  const dayList = typeof settings.openDays === "string" ? settings.openDays : "mon,tue,wed,thu,fri";
  const days = new Set(dayList.split(",").map((d) => DAY_NAMES.indexOf(d.trim().toLowerCase().slice(0, 3))));
  if (days.has(-1) || close <= open) throw new PluginError("invalid_binding", "settings.openDays must list days such as mon,tue,wed and openingHours must close after it opens", ["settings.openDays"]);
  return { timeZone, ranges: new Map([...days].map((d) => [d, [[open, close]]])), slotMinutes, bufferMinutes };
}

/**
 * The agent's weekly ranges, or null when it has none. A range past midnight is bookable to midnight only (the rest
 * belongs to the next day, which has its own ranges); `24:00` is midnight at the end of the day.
 */
function weeklyRanges(agent: AgentHours): Hours["ranges"] | null {
  const ranges: Hours["ranges"] = new Map();
  for (const [day, list] of Object.entries(agent.weekly)) {
    const weekday = WEEKDAYS.indexOf(day.toLowerCase());
    if (weekday < 0 || !list?.length) continue;
    const minutes = (text: string) => {
      const m = /^(\d{1,2}):(\d{2})$/.exec(text);
      return m ? Number(m[1]) * 60 + Number(m[2]) : null;
    };
    const usable = list
      .map((r) => [minutes(r.start), minutes(r.end)] as const)
      .filter((r): r is readonly [number, number] => r[0] !== null && r[1] !== null)
      .map(([open, close]): [number, number] => [open, close > open ? Math.min(close, 24 * 60) : 24 * 60])
      .sort((a, b) => a[0] - b[0]);
    if (usable.length) ranges.set(weekday, usable);
  }
  return ranges.size ? ranges : null;
}

function whole(value: unknown, fallback: number, min: number, max: number): number {
  const n = typeof value === "string" && value.trim() ? Number(value) : typeof value === "number" ? value : fallback;
  return Number.isInteger(n) && n >= min && n <= max ? n : fallback;
}

/** The wall-clock parts of an instant in a zone. */
function partsIn(instant: number, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", weekday: "short", hourCycle: "h23" })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), weekday: DAY_NAMES.indexOf(String(parts.weekday).toLowerCase()) };
}

/** The instant a wall-clock time in a zone stands for (the offset guessed, then corrected once across a DST change). */
export function zonedInstant(year: number, month: number, day: number, minutes: number, timeZone: string): number {
  const naive = Date.UTC(year, month - 1, day, 0, minutes);
  const offsetAt = (instant: number) => {
    const p = partsIn(instant, timeZone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(instant / MINUTE) * MINUTE;
  };
  const first = naive - offsetAt(naive);
  return naive - offsetAt(first);
}

/**
 * A slot the caller named: an ISO date-time with an offset, or a wall-clock `YYYY-MM-DDTHH:MM` read in the
 * calendar's zone (what the agent hears: "Tuesday at 10").
 */
export function parseSlot(value: string, timeZone: string): number | null {
  const local = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$/.exec(value.trim());
  if (local) return zonedInstant(Number(local[1]), Number(local[2]), Number(local[3]), Number(local[4]) * 60 + Number(local[5]), timeZone);
  if (!/[zZ]|[+-]\d{2}:?\d{2}$/.test(value.trim())) return null;
  const instant = Date.parse(value);
  return Number.isNaN(instant) ? null : instant;
}

/** Whether a slot starting at `start` fits the opening hours on its day. */
export function withinHours(start: number, hours: Hours): boolean {
  const p = partsIn(start, hours.timeZone);
  const minutes = p.hour * 60 + p.minute;
  return (hours.ranges.get(p.weekday) ?? []).some(([open, close]) => minutes >= open && minutes + hours.slotMinutes <= close);
}

export function isFree(start: number, hours: Hours, busy: Interval[]): boolean {
  const from = start - hours.bufferMinutes * MINUTE;
  const to = start + (hours.slotMinutes + hours.bufferMinutes) * MINUTE;
  return !busy.some((b) => b.start < to && b.end > from);
}

/** The next `count` free slots starting no earlier than `from`, looking `days` days ahead. */
export function freeSlots(from: number, hours: Hours, busy: Interval[], count: number, days: number): number[] {
  const slots: number[] = [];
  const first = partsIn(from, hours.timeZone);
  for (let d = 0; d < days && slots.length < count; d++) {
    // Noon of the local day, d days on: a safe anchor for finding that day's date across DST changes.
    const anchor = partsIn(zonedInstant(first.year, first.month, first.day, 12 * 60, hours.timeZone) + d * 24 * 60 * MINUTE, hours.timeZone);
    for (const [open, close] of hours.ranges.get(anchor.weekday) ?? []) {
      for (let m = open; m + hours.slotMinutes <= close && slots.length < count; m += hours.slotMinutes) {
        const start = zonedInstant(anchor.year, anchor.month, anchor.day, m, hours.timeZone);
        if (start >= from && isFree(start, hours, busy)) slots.push(start);
      }
    }
  }
  return slots;
}

/** "Tuesday, December 15 at 10:00 AM", in the calendar's zone. */
export function spoken(instant: number, timeZone: string): string {
  const date = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "long", month: "long", day: "numeric" }).format(new Date(instant));
  const time = new Intl.DateTimeFormat("en-US", { timeZone, hour: "numeric", minute: "2-digit" }).format(new Date(instant));
  return `${date} at ${time}`;
}

/** `YYYY-MM-DDTHH:MM` in the calendar's zone: what book_appointment takes back. */
export function localIso(instant: number, timeZone: string): string {
  const p = partsIn(instant, timeZone);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** The start of a local day `YYYY-MM-DD` in the zone, or null when it is not one. */
export function dayStart(value: string, timeZone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  return m ? zonedInstant(Number(m[1]), Number(m[2]), Number(m[3]), 0, timeZone) : null;
}
