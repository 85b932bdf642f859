// Outbound requests on behalf of tenants (skills) must not reach the appliance's own network: every
// destination is resolved and refused when any of its addresses is not public unicast (loopback, private,
// link-local and cloud metadata, unique-local, carrier-grade NAT, multicast, unspecified, reserved, IPv4
// embedded in IPv6), unless the operator's EGRESS_ALLOWLIST names the host, the address or its CIDR.
// Redirects are followed by hand so every hop is checked again.
import ipaddr from "ipaddr.js";
import { lookup } from "node:dns/promises";

export const MAX_REDIRECTS = 3;

const RANGE_NAMES: Record<string, string> = {
  loopback: "a loopback",
  private: "a private",
  linkLocal: "a link-local (cloud metadata)",
  uniqueLocal: "a unique-local",
  carrierGradeNat: "a carrier-grade NAT",
  multicast: "a multicast",
  unspecified: "an unspecified",
  broadcast: "a broadcast",
};

// Headers that only make sense for the origin the operator configured; dropped when a redirect leaves it.
const KEPT_ACROSS_ORIGINS = new Set(["accept", "content-type", "user-agent"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class EgressRefused extends Error {
  constructor(readonly url: string, reason: string) {
    super(reason);
  }
}

export class TooManyRedirects extends Error {
  constructor(readonly url: string) {
    super(`more than ${MAX_REDIRECTS} redirects`);
  }
}

export type Resolve = (hostname: string) => Promise<string[]>;

export interface EgressRequest {
  method: string;
  headers: Headers;
  body?: string;
  signal?: AbortSignal;
}

export interface EgressGuard {
  /** Where `url` may be reached: `pinned` is the checked address to connect to, or null to connect by name. */
  check(url: URL): Promise<{ pinned: string | null }>;
  /** fetch() that checks the destination and every redirect target; answers the final, non-redirect response. */
  fetch(url: URL, request: EgressRequest): Promise<Response>;
}

const systemResolve: Resolve = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export function createEgressGuard(deps: { allowlist: readonly string[]; resolve?: Resolve; fetch?: typeof fetch }): EgressGuard {
  const allow = parseAllowlist(deps.allowlist);
  const resolve = deps.resolve ?? systemResolve;
  const fetchImpl = deps.fetch ?? fetch;

  async function check(url: URL): Promise<{ pinned: string | null }> {
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new EgressRefused(url.href, `${url.protocol} URLs are not allowed; use http or https`);
    const host = url.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
    if (allow.hosts.some((h) => host === h || (h.startsWith("*.") && host.endsWith(h.slice(1))))) return { pinned: null };

    const addresses = ipaddr.isValid(host) ? [host] : await resolve(host);
    if (addresses.length === 0) throw new Error(`${host} has no address`);
    for (const text of addresses) {
      const address = toPlain(ipaddr.parse(text));
      const range = address.range();
      if (range === "unicast" || allow.ranges.some(([net, bits]) => net.kind() === address.kind() && address.match(net, bits))) continue;
      const what = RANGE_NAMES[range] ?? `a reserved (${range})`;
      throw new EgressRefused(url.href, `${host} resolves to ${what} address (${address.toString()}); add it to EGRESS_ALLOWLIST to allow it`);
    }
    return { pinned: addresses[0]! };
  }

  async function send(url: URL, request: EgressRequest): Promise<Response> {
    const { pinned } = await check(url);
    const headers = new Headers(request.headers);
    let target = url;
    // Plain http connects to the very address that was checked, so a second DNS answer cannot swap in an
    // internal one. https connects by name: a rebound address would have to present a certificate for that name.
    if (pinned && url.protocol === "http:") {
      target = new URL(url);
      target.hostname = ipaddr.parse(pinned).kind() === "ipv6" ? `[${pinned}]` : pinned;
      headers.set("host", url.host);
    }
    return fetchImpl(target, { method: request.method, headers, body: request.body, redirect: "manual", signal: request.signal });
  }

  return {
    check,
    async fetch(url, request) {
      let current = url;
      let next: EgressRequest = { ...request, headers: new Headers(request.headers) };
      for (let hop = 0; ; hop++) {
        const response = await send(current, next);
        const location = response.headers.get("location");
        if (!REDIRECTS.has(response.status) || !location) return response;
        await response.body?.cancel();
        if (hop === MAX_REDIRECTS) throw new TooManyRedirects(current.href);
        const target = new URL(location, current);
        next = followRedirect(next, response.status, target.origin !== current.origin);
        current = target;
      }
    },
  };
}

function followRedirect(request: EgressRequest, status: number, crossOrigin: boolean): EgressRequest {
  const headers = new Headers(request.headers);
  let { method, body } = request;
  // As browsers do: 303 always, and 301/302 after a POST, continue as a GET without the body.
  if (status === 303 || ((status === 301 || status === 302) && method === "POST")) {
    method = method === "HEAD" ? "HEAD" : "GET";
    body = undefined;
    headers.delete("content-type");
  }
  if (crossOrigin) for (const name of [...headers.keys()]) if (!KEPT_ACROSS_ORIGINS.has(name)) headers.delete(name);
  return { method, headers, body, signal: request.signal };
}

/** An IPv4 address written as IPv4-mapped IPv6 (::ffff:127.0.0.1) is that IPv4 address. */
function toPlain(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

function parseAllowlist(entries: readonly string[]) {
  const hosts: string[] = [];
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const raw of entries) {
    const entry = raw.trim().replace(/^\[|\]$/g, "").toLowerCase();
    if (!entry) continue;
    if (ipaddr.isValidCIDR(entry)) {
      const [net, bits] = ipaddr.parseCIDR(entry);
      const mapped = net.kind() === "ipv6" && (net as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96;
      ranges.push(mapped ? [toPlain(net), bits - 96] : [net, bits]);
    } else if (ipaddr.isValid(entry)) {
      const address = toPlain(ipaddr.parse(entry));
      ranges.push([address, address.kind() === "ipv4" ? 32 : 128]);
    } else {
      hosts.push(entry.replace(/\.$/, ""));
    }
  }
  return { hosts, ranges };
}
