// The address a widget visitor connects from: what the per-visitor session limit counts and what the bot check is
// told. X-Forwarded-For lists addresses client first, and each proxy appends the peer it saw, so only the entries
// written by the operator's own proxies (TRUST_PROXY of them, counted from the right) can be believed; anything
// further left is whatever the client chose to send.

/** The longest address kept: an IPv6 address with a zone fits; anything longer is not an address. */
const MAX_ADDRESS = 64;

/**
 * The client's address, given the connection's peer and the X-Forwarded-For header: the peer itself when no proxy
 * is trusted, else the `trustedProxies`-th address from the right of `[...X-Forwarded-For, peer]` (the leftmost one
 * when the chain is shorter, i.e. the request skipped some of the proxies).
 */
export function visitorAddress(forwardedFor: string | null, peer: string | null, trustedProxies: number): string | null {
  if (trustedProxies <= 0) return peer;
  const chain: (string | null)[] = (forwardedFor ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  chain.push(peer);
  const address = chain[Math.max(0, chain.length - 1 - trustedProxies)] ?? null;
  return address === null ? null : address.slice(0, MAX_ADDRESS);
}
