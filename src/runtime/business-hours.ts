// Whether an agent is open right now in its own time zone: weekly ranges (split shifts, overnight windows
// past midnight, 24-hour days), holidays that close a day or replace its hours, and the next opening time.
import type { AgentSettings, TimeRange } from "./compiled.ts";
import { phrase, type Phrase } from "./phrases/index.ts";

export const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;

export interface HoursStatus {
  configured: boolean;
  open: boolean;
  /** e.g. "Tuesday 14:05" in the agent's time zone. */
  localTime: string;
  timezone: string | null;
  /** e.g. "Wednesday at 08:00", when closed and a next opening exists within a week. */
  nextOpening: string | null;
  /** The same, as a phrase the caller hears in the conversation's language ("am Mittwoch um 08:00 Uhr"). */
  nextOpeningPhrase: Phrase | null;
}

interface LocalClock {
  date: string;
  weekday: number;
  minutes: number;
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function clockAt(timezone: string, instant: number): LocalClock {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: timezone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", weekday: "long", hourCycle: "h23" })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: WEEKDAYS.indexOf(String(parts.weekday).toLowerCase() as (typeof WEEKDAYS)[number]),
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

type Hours = AgentSettings["businessHours"];

/** The ranges that apply on a calendar day: a holiday's (possibly none), else the weekday's. */
function rangesOn(hours: Hours, date: string, weekday: number): TimeRange[] {
  const holiday = hours.holidays?.find((h) => date >= h.date && date <= (h.endDate ?? h.date));
  if (holiday) return holiday.closed === false ? (holiday.ranges ?? []) : [];
  return hours.weekly?.[WEEKDAYS[weekday]!] ?? [];
}

const previousDate = (date: string) => new Date(Date.parse(`${date}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

function openAt(hours: Hours, clock: LocalClock): boolean {
  for (const r of rangesOn(hours, clock.date, clock.weekday)) {
    const start = toMinutes(r.start);
    const end = toMinutes(r.end);
    if (end > start ? clock.minutes >= start && clock.minutes < end : clock.minutes >= start) return true;
  }
  // Yesterday's overnight ranges reach into today's early hours.
  for (const r of rangesOn(hours, previousDate(clock.date), (clock.weekday + 6) % 7)) {
    const start = toMinutes(r.start);
    const end = toMinutes(r.end);
    if (end <= start && clock.minutes < end) return true;
  }
  return false;
}

export function hasSchedule(hours: Hours): boolean {
  return Object.values(hours.weekly ?? {}).some((r) => r && r.length > 0);
}

export function hoursStatus(hours: Hours, now: number): HoursStatus {
  const timezone = hours.timezone ?? null;
  if (!timezone || !hasSchedule(hours)) {
    return { configured: false, open: true, localTime: describeClock(clockAt(timezone ?? "UTC", now)), timezone, nextOpening: null, nextOpeningPhrase: null };
  }
  const clock = clockAt(timezone, now);
  const open = openAt(hours, clock);
  const next = open ? null : nextOpening(hours, timezone, now);
  return { configured: true, open, localTime: describeClock(clock), timezone, nextOpening: next?.text ?? null, nextOpeningPhrase: next?.phrase ?? null };
}

function nextOpening(hours: Hours, timezone: string, now: number): { text: string; phrase: Phrase } | null {
  // Walk forward in 15-minute steps for up to a week: simple and exact enough for a spoken "we open at…".
  const step = 15 * 60_000;
  const start = Math.ceil(now / step) * step;
  for (let t = start; t < now + 7 * 86_400_000; t += step) {
    const clock = clockAt(timezone, t);
    if (openAt(hours, clock)) {
      const today = clock.date === clockAt(timezone, now).date;
      const weekday = WEEKDAYS[clock.weekday]!;
      const time = `${String(Math.floor(clock.minutes / 60)).padStart(2, "0")}:${String(clock.minutes % 60).padStart(2, "0")}`;
      return {
        text: `${today ? "today" : weekday.replace(/^\w/, (c) => c.toUpperCase())} at ${time}`,
        phrase: today ? phrase("hours.opening_today", { time }) : phrase("hours.opening_day", { day: phrase(`weekday.${weekday}`), time }),
      };
    }
  }
  return null;
}

function describeClock(c: LocalClock): string {
  const day = WEEKDAYS[c.weekday]!.replace(/^\w/, (x) => x.toUpperCase());
  return `${day} ${String(Math.floor(c.minutes / 60)).padStart(2, "0")}:${String(c.minutes % 60).padStart(2, "0")}`;
}
