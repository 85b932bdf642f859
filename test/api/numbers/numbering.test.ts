import { describe, expect, it } from "bun:test";
import { describeNumber, formatNumber, keypadDigits } from "../../../src/api/numbers/numbering.ts";

describe("describeNumber", () => {
  it("splits the country calling code by the longest known prefix", () => {
    expect(describeNumber("+14155550142")).toEqual({ callingCode: "1", country: "US", nationalNumber: "4155550142", numberType: "local" });
    expect(describeNumber("+353015550142")).toMatchObject({ callingCode: "353", country: "IE", nationalNumber: "015550142" });
    expect(describeNumber("+442071230106")).toMatchObject({ callingCode: "44", country: "GB" });
  });

  it("tells Canada and toll-free numbers apart within the North American plan", () => {
    expect(describeNumber("+16045550107")).toMatchObject({ country: "CA", numberType: "local" });
    expect(describeNumber("+18885550100")).toMatchObject({ country: "US", numberType: "toll_free" });
  });

  it("answers the unknown region for calling codes it does not know", () => {
    expect(describeNumber("+8823456789")).toMatchObject({ country: "ZZ", numberType: "local" });
  });
});

describe("formatNumber and keypadDigits", () => {
  it("formats North American numbers nationally and others with their calling code", () => {
    expect(formatNumber("+14155550142")).toBe("(415) 555-0142");
    expect(formatNumber("+442071230106")).toBe("+44 2071230106");
  });

  it("reads vanity letters as the keypad digits carrying them", () => {
    expect(keypadDigits("FLOWERS")).toBe("3569377");
    expect(keypadDigits("call1")).toBe("22551");
  });
});
