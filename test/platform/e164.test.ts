// Phone numbers in any country, read by libphonenumber-js: with `+` or `00` as written, without it in a region.
import { describe, expect, it } from "bun:test";
import { normalizePhoneNumber, phoneRegionOf, phoneRegionOfNumber } from "../../src/platform/e164.ts";

describe("normalizePhoneNumber", () => {
  it("reads a national number in its region", () => {
    expect(normalizePhoneNumber("020 7946 0018", "GB")).toBe("+442079460018");
    expect(normalizePhoneNumber("030 123456789", "DE")).toBe("+4930123456789");
    expect(normalizePhoneNumber("(415) 555-0142", "US")).toBe("+14155550142");
    expect(normalizePhoneNumber("1 415 555 0142", "US")).toBe("+14155550142");
  });

  it("reads a number with its country code the same in any region", () => {
    for (const region of ["US", "GB", "DE"] as const) {
      expect(normalizePhoneNumber("+44 20 7946 0018", region)).toBe("+442079460018");
      expect(normalizePhoneNumber("0049 30 123456789", region)).toBe("+4930123456789");
      expect(normalizePhoneNumber("+1 (415) 555-0100", region)).toBe("+14155550100");
    }
  });

  it("refuses what is no possible number", () => {
    for (const [text, region] of [["12345", "GB"], ["+44 20", "US"], ["call me maybe", "US"], ["+1 415 555 01000000", "US"], ["0", "DE"]] as const) {
      expect({ text, got: normalizePhoneNumber(text, region) }).toEqual({ text, got: null });
    }
  });
});

describe("regions", () => {
  it("reads a region from a language tag's region subtag, else the fallback", () => {
    expect(phoneRegionOf("en-GB", "US")).toBe("GB");
    expect(phoneRegionOf("de-AT", "US")).toBe("AT");
    expect(phoneRegionOf("de", "DE")).toBe("DE");
    expect(phoneRegionOf("zh-Hant-TW", "US")).toBe("TW");
    expect(phoneRegionOf("en", "US")).toBe("US");
  });

  it("places a number in its country", () => {
    expect(phoneRegionOfNumber("+4930123456789")).toBe("DE");
    expect(phoneRegionOfNumber("+442079460018")).toBe("GB");
  });
});
