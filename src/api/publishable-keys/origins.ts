// Allowed origins are compared verbatim with the browser's Origin header, so they are stored exactly as
// browsers send it: lowercase scheme and host, the port only when it is not the scheme's default.
import { validationProblem, type FieldError } from "../../platform/http/problem.ts";

export function normalizeOrigins(values: string[], field = "allowedOrigins"): string[] {
  const errors: FieldError[] = [];
  const origins = values.map((value, i) => {
    const origin = normalizeOrigin(value.trim());
    if (typeof origin !== "string") errors.push({ field: `${field}[${i}]`, message: origin.problem });
    return origin;
  });
  if (errors.length) throw validationProblem(errors);
  return [...new Set(origins as string[])];
}

function normalizeOrigin(value: string): string | { problem: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: "is not an origin; write it as scheme://host[:port], e.g. https://www.example.com" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { problem: "must start with https:// or http://" };
  if (url.hostname.includes("*")) return { problem: "cannot hold wildcards; list each origin" };
  if (url.username || url.password) return { problem: "cannot hold credentials" };
  // A bare trailing slash is harmless; anything else after the host is a page, not an origin.
  if (url.pathname !== "/" || url.search || url.hash) return { problem: "must be an origin only (no path, query or fragment)" };
  return url.origin;
}
