// Request bodies: the size limit is enforced from Content-Length before anything is read, and again while
// reading bodies sent without one. JSON is the only body type most routes take; multipart is left to the
// routes that declare it (uploads).
import { Problem } from "./problem.ts";

export const UPLOAD_MAX_BYTES = 25 * 1024 * 1024;
const MULTIPART_OVERHEAD = 64 * 1024;

export function bodyLimitFor(path: string, jsonLimit: number): number {
  return path.startsWith("/api/v1/uploads") ? UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD : jsonLimit;
}

export function tooLarge(limit: number) {
  return new Problem(413, "payload_too_large", `the request body is larger than ${limit} bytes`);
}

/** Reject an over-long request before reading it. */
export function checkDeclaredLength(request: Request, limit: number) {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > limit) throw tooLarge(limit);
}

export async function parseJsonBody(request: Request, contentType: string, limit: number): Promise<unknown> {
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(contentType)) {
    if (/^multipart\/form-data/i.test(contentType)) return undefined; // the route's own parser takes it
    if (request.headers.get("content-length") === "0") return undefined;
    throw new Problem(415, "unsupported_media_type", "send the body as application/json");
  }
  const text = await request.text();
  if (text.length > limit) throw tooLarge(limit);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Problem(400, "invalid_json", "the request body is not valid JSON", { errors: [{ field: "body", message: "is not valid JSON" }] });
  }
}
