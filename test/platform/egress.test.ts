import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createEgressGuard, EgressRefused, TooManyRedirects } from "../../src/platform/egress.ts";

const refusal = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (err) {
    if (err instanceof EgressRefused) return err.message;
    throw err;
  }
  return null;
};

describe("egress guard: which destinations it refuses", () => {
  const guard = createEgressGuard({ allowlist: [] });

  it("refuses loopback, private, link-local (metadata), CGNAT, unique-local, multicast and unspecified addresses", async () => {
    const cases: [string, string][] = [
      ["http://127.0.0.1/", "loopback"],
      ["http://127.8.9.10:8080/", "loopback"],
      ["http://10.1.2.3/", "private"],
      ["http://172.16.0.1/", "private"],
      ["http://192.168.1.1/", "private"],
      ["http://169.254.169.254/latest/meta-data/", "link-local"],
      ["http://100.64.0.1/", "carrier-grade NAT"],
      ["http://0.0.0.0/", "unspecified"],
      ["http://224.0.0.1/", "multicast"],
      ["http://[::1]/", "loopback"],
      ["http://[fd00:ec2::254]/", "unique-local"],
      ["http://[fe80::1]/", "link-local"],
      ["http://[::]/", "unspecified"],
      ["http://[::ffff:127.0.0.1]/", "loopback"],
      ["http://[::ffff:a9fe:a9fe]/", "link-local"],
      // Other spellings of 127.0.0.1 that URL parsing normalizes.
      ["http://2130706433/", "loopback"],
      ["http://0x7f.1/", "loopback"],
    ];
    for (const [url, kind] of cases) expect({ url, reason: await refusal(guard.check(new URL(url))) }).toEqual({ url, reason: expect.stringContaining(kind) });
  });

  it("refuses a hostname that resolves to loopback (localhost)", async () => {
    expect(await refusal(guard.check(new URL("http://localhost:9/")))).toContain("loopback");
  });

  it("refuses a name when any of its addresses is internal, and refuses non-http schemes", async () => {
    const split = createEgressGuard({ allowlist: [], resolve: async () => ["93.184.216.34", "10.0.0.5"] });
    expect(await refusal(split.check(new URL("https://mixed.example.com/")))).toContain("10.0.0.5");
    expect(await refusal(guard.check(new URL("file:///etc/passwd")))).toContain("file:");
    expect(await refusal(guard.check(new URL("gopher://example.com/")))).toContain("gopher:");
  });

  it("lets public addresses through and pins the checked one", async () => {
    const publicName = createEgressGuard({ allowlist: [], resolve: async () => ["93.184.216.34"] });
    expect(await publicName.check(new URL("https://api.example.com/x"))).toEqual({ pinned: "93.184.216.34" });
    expect(await guard.check(new URL("http://8.8.8.8/"))).toEqual({ pinned: "8.8.8.8" });
    expect(await guard.check(new URL("http://[2606:4700:4700::1111]/"))).toEqual({ pinned: "2606:4700:4700::1111" });
  });

  it("allows what EGRESS_ALLOWLIST names: hostnames (and *.subdomains), addresses and CIDRs", async () => {
    const allowed = createEgressGuard({
      allowlist: ["localhost", "*.corp.example", "127.0.0.1", "10.0.0.0/8", "[::1]"],
      resolve: async (host) => (host === "intranet.example" ? ["10.20.30.40"] : ["192.168.0.9"]),
    });
    expect(await allowed.check(new URL("http://localhost:8080/"))).toEqual({ pinned: null });
    expect(await allowed.check(new URL("http://crm.corp.example/"))).toEqual({ pinned: null });
    expect(await allowed.check(new URL("http://127.0.0.1/"))).toEqual({ pinned: "127.0.0.1" });
    expect(await allowed.check(new URL("http://[::ffff:127.0.0.1]/"))).toEqual({ pinned: "::ffff:7f00:1" });
    expect(await allowed.check(new URL("http://[::1]/"))).toEqual({ pinned: "::1" });
    expect(await allowed.check(new URL("http://intranet.example/"))).toEqual({ pinned: "10.20.30.40" });
    expect(await refusal(allowed.check(new URL("http://127.0.0.2/")))).toContain("loopback");
    expect(await refusal(allowed.check(new URL("http://other.example/")))).toContain("192.168.0.9");
    expect(await refusal(allowed.check(new URL("http://corp.example/")))).toContain("192.168.0.9");
  });
});

describe("egress guard: requests and redirects, against a local server", () => {
  let server: ReturnType<typeof Bun.serve>;
  let base: string;
  const seen: { path: string; host: string | null; authorization: string | null; method: string }[] = [];
  beforeAll(() => {
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(req) {
        const url = new URL(req.url);
        seen.push({ path: url.pathname, host: req.headers.get("host"), authorization: req.headers.get("authorization"), method: req.method });
        const to = url.searchParams.get("to");
        if (url.pathname === "/redirect" && to) return new Response(null, { status: Number(url.searchParams.get("status") ?? 302), headers: { location: to } });
        if (url.pathname === "/loop") return new Response(null, { status: 302, headers: { location: "/loop" } });
        return Response.json({ path: url.pathname });
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.stop(true));

  const get = (guard: ReturnType<typeof createEgressGuard>, url: string, headers: Record<string, string> = {}) =>
    guard.fetch(new URL(url), { method: "POST", headers: new Headers(headers), body: "{}" });

  it("connects to the checked address, keeping the name in Host", async () => {
    const guard = createEgressGuard({ allowlist: ["127.0.0.1"], resolve: async () => ["127.0.0.1"] });
    const res = await get(guard, `http://hooks.test:${server.port}/pinned`);
    expect(await res.json()).toEqual({ path: "/pinned" });
    expect(seen.at(-1)).toMatchObject({ path: "/pinned", host: `hooks.test:${server.port}` });
  });

  it("follows redirects it may follow, continuing a 303 as GET", async () => {
    const guard = createEgressGuard({ allowlist: ["127.0.0.1"] });
    const res = await get(guard, `${base}/redirect?status=303&to=/final`);
    expect(await res.json()).toEqual({ path: "/final" });
    expect(seen.at(-1)).toMatchObject({ path: "/final", method: "GET" });
  });

  it("checks every redirect target: a hop to a private address is refused", async () => {
    const guard = createEgressGuard({ allowlist: ["127.0.0.1"] });
    for (const target of ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]/"]) {
      expect(await refusal(get(guard, `${base}/redirect?to=${encodeURIComponent(target)}`))).toContain("EGRESS_ALLOWLIST");
    }
  });

  it("stops after 3 redirects", async () => {
    const guard = createEgressGuard({ allowlist: ["127.0.0.1"] });
    const before = seen.length;
    await expect(get(guard, `${base}/loop`)).rejects.toBeInstanceOf(TooManyRedirects);
    expect(seen.length - before).toBe(4);
  });

  it("drops credentials when a redirect leaves the origin", async () => {
    const guard = createEgressGuard({ allowlist: ["127.0.0.1", "localhost"] });
    await get(guard, `${base}/redirect?status=307&to=${encodeURIComponent(`${base}/same`)}`, { authorization: "Bearer secret" });
    expect(seen.at(-1)).toMatchObject({ path: "/same", authorization: "Bearer secret", method: "POST" });
    await get(guard, `${base}/redirect?status=307&to=${encodeURIComponent(`http://localhost:${server.port}/elsewhere`)}`, { authorization: "Bearer secret" });
    expect(seen.at(-1)).toMatchObject({ path: "/elsewhere", authorization: null });
  });
});
