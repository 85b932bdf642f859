// Header values of http_webhook skills are credentials (API keys, bearer tokens): stored sealed with the master
// key, read back masked, and a masked value sent back in an update means "keep the stored one".
import type { Sealer } from "../../platform/crypto.ts";
import type { FieldError } from "../../platform/http/problem.ts";

const MASK = "••••";
// Showing the last four characters of a short value would give most of it away.
const MIN_LENGTH_TO_HINT = 8;

type Headers = Record<string, string>;

const headersOf = (config: Record<string, unknown>) => config.headers as Headers | undefined;
const withHeaders = (config: Record<string, unknown>, headers: Headers) => ({ ...config, headers });

function maskValue(value: string): string {
  return value.length >= MIN_LENGTH_TO_HINT ? MASK + value.slice(-4) : MASK;
}

/** Stored → response: every header value masked. */
export function maskSecrets(config: Record<string, unknown>, sealer: Sealer): Record<string, unknown> {
  const headers = headersOf(config);
  if (!headers) return config;
  return withHeaders(config, Object.fromEntries(Object.entries(headers).map(([name, sealed]) => [name, maskValue(tryOpen(sealer, sealed) ?? "")])));
}

/** Stored → plain text, to validate a merged update; a value that no longer opens is left out. */
export function openSecrets(config: Record<string, unknown>, sealer: Sealer): Record<string, unknown> {
  const headers = headersOf(config);
  if (!headers) return config;
  const opened: Headers = {};
  for (const [name, sealed] of Object.entries(headers)) {
    const value = tryOpen(sealer, sealed);
    if (value !== null) opened[name] = value;
  }
  return withHeaders(config, opened);
}

/** Request → plain text: a masked value takes the stored value of the same header (names compare case-insensitively). */
export function unmaskSecrets(sent: Record<string, unknown>, stored: Record<string, unknown> | null, errors: FieldError[]): Record<string, unknown> {
  const headers = headersOf(sent);
  if (!headers || typeof headers !== "object") return sent;
  const previous = new Map(Object.entries(headersOf(stored ?? {}) ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const resolved: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string" || !value.startsWith(MASK)) {
      resolved[name] = value;
      continue;
    }
    const kept = previous.get(name.toLowerCase());
    if (kept === undefined) errors.push({ field: `executionConfig.headers.${name}`, message: "is a masked value with no stored value behind it; send the value itself" });
    else resolved[name] = kept;
  }
  return withHeaders(sent, resolved);
}

/** Plain text → stored. */
export function sealSecrets(config: Record<string, unknown>, sealer: Sealer): Record<string, unknown> {
  const headers = headersOf(config);
  if (!headers) return config;
  return withHeaders(config, Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, sealer.seal(value)])));
}

function tryOpen(sealer: Sealer, sealed: string): string | null {
  try {
    return sealer.open(sealed);
  } catch {
    return null;
  }
}
