// Which X-Forwarded-For entry names the visitor, for each number of trusted proxies.
import { describe, expect, it } from "bun:test";
import { visitorAddress } from "../../../src/api/widget/visitor-address.ts";

describe("visitor address", () => {
  it("is the connection's peer when no proxy is trusted, whatever X-Forwarded-For says", () => {
    expect(visitorAddress("198.51.100.9", "10.0.0.5", 0)).toBe("10.0.0.5");
    expect(visitorAddress(null, "10.0.0.5", 0)).toBe("10.0.0.5");
    expect(visitorAddress("198.51.100.9", null, 0)).toBeNull();
  });

  it("is the entry the nearest trusted proxy wrote, not one a client prepended", () => {
    expect(visitorAddress("198.51.100.9", "10.0.0.5", 1)).toBe("198.51.100.9");
    expect(visitorAddress("6.6.6.6, 198.51.100.9", "10.0.0.5", 1)).toBe("198.51.100.9");
    // Several headers arrive joined with commas.
    expect(visitorAddress("6.6.6.6,7.7.7.7 ,  198.51.100.9", "10.0.0.5", 1)).toBe("198.51.100.9");
  });

  it("counts one more entry from the right for each further trusted proxy", () => {
    // visitor → CDN (adds the visitor) → ingress (adds the CDN) → server
    expect(visitorAddress("6.6.6.6, 198.51.100.9, 172.16.0.2", "10.0.0.5", 2)).toBe("198.51.100.9");
  });

  it("falls back to the farthest address known when the request passed fewer proxies than trusted", () => {
    expect(visitorAddress(null, "10.0.0.5", 1)).toBe("10.0.0.5");
    expect(visitorAddress("198.51.100.9", "10.0.0.5", 3)).toBe("198.51.100.9");
    expect(visitorAddress("", null, 1)).toBeNull();
  });

  it("keeps no more of an entry than an address can be", () => {
    expect(visitorAddress("x".repeat(500), "10.0.0.5", 1)).toHaveLength(64);
  });
});
