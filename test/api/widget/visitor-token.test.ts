import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { VisitorTokens } from "../../../src/api/widget/visitor-token.ts";

const claims = { conversationId: "conv_1", publishableKeyId: "pk_1", visitorId: "vis_1" };
const problemOf = (fn: () => unknown) => {
  try {
    fn();
    return null;
  } catch (error) {
    return { status: (error as { status: number }).status, code: (error as { code: string }).code };
  }
};

describe("visitor tokens", () => {
  it("round-trips the claims until they expire", () => {
    let now = 1_000_000;
    const tokens = new VisitorTokens(randomBytes(32), () => now);
    const { token, expiresAt } = tokens.issue(claims, 60_000);
    expect(expiresAt.getTime()).toBe(1_060_000);
    expect(tokens.verify(token)).toEqual({ ...claims, exp: 1_060_000 });
    now = 1_060_000;
    expect(problemOf(() => tokens.verify(token))).toEqual({ status: 401, code: "visitor_token_expired" });
  });

  it("refuses tokens signed under another master key, altered, or malformed", () => {
    const tokens = new VisitorTokens(randomBytes(32));
    const { token } = new VisitorTokens(randomBytes(32)).issue(claims);
    expect(problemOf(() => tokens.verify(token))).toEqual({ status: 401, code: "invalid_visitor_token" });
    const mine = tokens.issue(claims).token;
    for (const bad of [mine.slice(0, -2), `${mine}.x`, mine.replace(/^vt1/, "vt2"), "", "vt1..", "vt1.e30.sig"]) {
      expect({ bad, problem: problemOf(() => tokens.verify(bad)) }).toEqual({ bad, problem: { status: 401, code: "invalid_visitor_token" } });
    }
  });
});
