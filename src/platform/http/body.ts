// Request bodies are checked before anything is read: the declared length against the route's limit (413) and
// the media type (415: JSON everywhere except the multipart upload routes). Bodies sent without a declared
// length are bounded by the server's hard cap (`maxRequestBodySize`, 32 MiB).
import { Problem } from "./problem.ts";

/** What any route taking a body may answer before it runs; the OpenAPI document lists them. */
export const BODY_PROBLEMS = {
  400: { code: "invalid_json", when: "the body is not valid JSON" },
  413: { code: "payload_too_large", when: "the body is larger than the limit (MAX_JSON_BODY_BYTES for JSON)" },
  415: { code: "unsupported_media_type", when: "the body is not application/json" },
} as const;

export const UPLOAD_MAX_BYTES = 25 * 1024 * 1024;
const MULTIPART_OVERHEAD = 64 * 1024;
const MULTIPART_PATHS = ["/api/v1/uploads"];

export function checkRequestBody(request: Request, path: string, jsonLimit: number) {
  const multipart = MULTIPART_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
  const limit = multipart ? UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD : jsonLimit;
  const length = request.headers.get("content-length");
  if (Number(length ?? 0) > limit) throw new Problem(413, BODY_PROBLEMS[413].code, `the request body is larger than ${limit} bytes`);
  const hasBody = (length !== null && length !== "0") || request.headers.has("transfer-encoding");
  if (!hasBody) return;
  const type = request.headers.get("content-type") ?? "";
  const json = /^application\/([\w.+-]*\+)?json\b/i.test(type);
  if (!(json || (multipart && /^multipart\/form-data/i.test(type)))) {
    throw new Problem(415, BODY_PROBLEMS[415].code, multipart ? "send the file as multipart/form-data" : "send the body as application/json");
  }
}

/**
 * Route parser for JSON bodies that may be left out entirely (POST /agents/{id}/publish): an empty request reads
 * as `{}`, anything else must be JSON. Elysia would otherwise take malformed JSON for "no body".
 */
export const optionalJsonBody = [({ request }: { request: Request }) => ((request.headers.get("content-length") ?? "0") === "0" && !request.headers.has("transfer-encoding") ? {} : undefined), "json"];
