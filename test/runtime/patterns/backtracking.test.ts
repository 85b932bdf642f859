import { describe, expect, it } from "bun:test";
import { checkPatterns } from "../../../src/runtime/patterns/index.ts";

describe("the backtracking check of a request's patterns", () => {
  it("refuses catastrophic patterns and passes ordinary ones", async () => {
    const errors = await checkPatterns([
      { field: "a", source: "^(a|aa)+$" },
      { field: "b", source: "^\\d{5}$" },
      { field: "c", source: "^(\\w+\\s?)*$", flags: "u" },
    ]);
    expect(errors).toEqual([
      { field: "a", message: expect.stringContaining("backtracks catastrophically (exponential time)") },
      { field: "c", message: expect.stringContaining("backtracks catastrophically") },
    ]);
  }, 60_000);

  it("stops analysing when the request's budget is spent, refusing what it did not check and keeping what it knows", async () => {
    expect(await checkPatterns([{ field: "known", source: "^\\d{5}$" }])).toEqual([]);
    const errors = await checkPatterns(
      [
        { field: "known", source: "^\\d{5}$" },
        { field: "fresh", source: "^[a-z]{2}-\\d{3}$" },
      ],
      0,
    );
    expect(errors).toEqual([{ field: "fresh", message: expect.stringContaining("was not checked for catastrophic backtracking") }]);
  }, 60_000);
});
