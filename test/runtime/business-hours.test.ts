import { describe, expect, it } from "bun:test";
import { hoursStatus } from "../../src/runtime/business-hours.ts";

const hours = {
  timezone: "America/New_York",
  weekly: {
    monday: [{ start: "08:00", end: "12:00" }, { start: "13:00", end: "18:00" }],
    friday: [{ start: "22:00", end: "02:00" }],
    saturday: [{ start: "00:00", end: "24:00" }],
  },
  holidays: [
    { date: "2026-12-25", name: "Christmas", closed: true },
    { date: "2026-12-28", name: "Short day", closed: false, ranges: [{ start: "10:00", end: "11:00" }] },
  ],
};
// New York is UTC-5 in winter.
const at = (local: string) => Date.parse(`${local}-05:00`);

describe("business hours", () => {
  it("is open inside split shifts and closed in the gap", () => {
    expect(hoursStatus(hours, at("2026-11-23T09:00:00")).open).toBe(true);
    expect(hoursStatus(hours, at("2026-11-23T12:30:00")).open).toBe(false);
    expect(hoursStatus(hours, at("2026-11-23T12:30:00")).nextOpening).toBe("today at 13:00");
  });

  it("runs an overnight window past midnight into the next day", () => {
    expect(hoursStatus(hours, at("2026-11-27T23:00:00")).open).toBe(true);
    expect(hoursStatus(hours, at("2026-11-28T01:30:00")).open).toBe(true); // Saturday early hours, from Friday's window
    expect(hoursStatus(hours, at("2026-11-30T01:30:00")).open).toBe(false); // Monday early hours: Sunday has no window
  });

  it("is open all day on a 24-hour day", () => {
    expect(hoursStatus(hours, at("2026-11-28T23:59:00")).open).toBe(true);
  });

  it("closes on a holiday and uses a holiday's own hours", () => {
    expect(hoursStatus(hours, at("2026-12-25T10:00:00")).open).toBe(false);
    expect(hoursStatus(hours, at("2026-12-28T10:30:00")).open).toBe(true);
    expect(hoursStatus(hours, at("2026-12-28T09:00:00")).open).toBe(false);
  });

  it("reports local time and the next opening", () => {
    const s = hoursStatus(hours, at("2026-11-24T20:00:00")); // Tuesday evening
    expect(s).toMatchObject({ configured: true, open: false, localTime: "Tuesday 20:00", timezone: "America/New_York" });
    expect(s.nextOpening).toBe("Friday at 22:00");
  });

  it("treats no schedule as always open", () => {
    expect(hoursStatus({}, Date.now())).toMatchObject({ configured: false, open: true });
  });
});
