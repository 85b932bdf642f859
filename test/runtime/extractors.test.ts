import { describe, expect, it } from "bun:test";
import { extract, localNow, spokenDigits } from "../../src/runtime/extractors.ts";

// Saturday 2026-11-21, 10:00 local.
const now = new Date(2026, 10, 21, 10, 0, 0);
const value = (r: ReturnType<typeof extract>) => (r.ok ? r.value : undefined);

describe("slot extractors", () => {
  it("reads dates and times relative to the agent's local time", () => {
    expect(value(extract("date", "tomorrow please", { localNow: now }))).toBe("2026-11-22");
    expect(value(extract("date", "next Tuesday", { localNow: now }))).toBe("2026-11-24");
    expect(value(extract("time", "around 3pm", { localNow: now }))).toBe("15:00");
    expect(value(extract("datetime", "Monday at 9:30 in the morning", { localNow: now }))).toBe("2026-11-23T09:30");
    expect(extract("date", "whenever suits you", { localNow: now }).ok).toBe(false);
    expect(extract("time", "tomorrow", { localNow: now }).ok).toBe(false);
  });

  it("reads phone numbers written or spoken, in E.164", () => {
    expect(value(extract("phone", "call me on (415) 555-0100"))).toBe("+14155550100");
    expect(value(extract("phone", "four one five five five five zero one zero zero"))).toBe("+14155550100");
    expect(value(extract("phone", "+44 20 7946 0958"))).toBe("+442079460958");
    expect(extract("phone", "no phone").ok).toBe(false);
  });

  it("reads emails, including spoken 'at' and 'dot'", () => {
    expect(value(extract("email", "it's Ann.Lee@Example.com"))).toBe("ann.lee@example.com");
    expect(value(extract("email", "ann at example dot com"))).toBe("ann@example.com");
  });

  it("reads numbers in digits or words", () => {
    expect(value(extract("number", "about 2.5 hours"))).toBe(2.5);
    expect(value(extract("integer", "twenty three"))).toBe(23);
    expect(value(extract("integer", "1,200 units"))).toBe(1200);
    expect(extract("integer", "2.5").ok).toBe(false);
  });

  it("reads yes and no, letting a negation win", () => {
    expect(value(extract("yes_no", "yes please"))).toBe(true);
    expect(value(extract("yes_no", "that's right"))).toBe(true);
    expect(value(extract("yes_no", "no, not that one"))).toBe(false);
    expect(value(extract("yes_no", "that's not right"))).toBe(false);
    expect(value(extract("yes_no", "yes, don't change anything"))).toBe(true);
    expect(extract("yes_no", "maybe later").ok).toBe(false);
  });

  it("reads names and addresses", () => {
    expect(value(extract("name", "my name is jane doe"))).toBe("Jane Doe");
    expect(value(extract("name", "Priya Patel"))).toBe("Priya Patel");
    expect(extract("name", "I'm not sure").ok).toBe(false);
    expect(value(extract("address", "I live at 12 Main Street, Springfield please"))).toBe("12 Main Street, Springfield please");
    expect(value(extract("address", "it's 4 Elm Rd"))).toBe("4 Elm Rd");
    expect(extract("address", "somewhere nice").ok).toBe(false);
  });

  it("reads digits and choices", () => {
    expect(spokenDigits("oh one two")).toBe("012");
    expect(value(extract("digits", "zero two one three nine"))).toBe("02139");
    expect(value(extract("choice", "the second one", { options: ["repair", "install"] }))).toBe("install");
    expect(value(extract("choice", "I need a repair", { options: ["repair", "install"] }))).toBe("repair");
  });

  it("computes local wall-clock time in a time zone", () => {
    const utc = Date.parse("2026-11-22T15:30:00Z");
    const ny = localNow("America/New_York", utc);
    expect([ny.getHours(), ny.getMinutes()]).toEqual([10, 30]);
  });
});
