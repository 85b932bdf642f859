// Request bodies are checked before anything is read: the declared length against the route's limit (413) and
// the media type (415: JSON everywhere except the multipart upload routes). A JSON body is then read through a
// check: one sent without a declared length (chunked) is counted and refused with the same 413 once it passes the
// limit, so no more than the limit is ever held; and its nesting and number of values are bounded (json-shape.ts)
// before any parser or schema sees it. Multipart bodies without a length are bounded by the server's hard cap
// (`maxRequestBodySize`, 32 MiB) and the upload's own size check.
import { JsonShape } from "./json-shape.ts";
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

/**
 * Refuses a body that is too large (413) or of the wrong type (415). For a JSON body it answers the request to use
 * instead: the same one whose body stream fails with the 413 once it passes the limit, or with the 400 once it
 * nests too deep or holds too many values.
 */
export function checkRequestBody(request: Request, path: string, jsonLimit: number): Request | undefined {
  const multipart = MULTIPART_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
  const limit = multipart ? UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD : jsonLimit;
  const length = request.headers.get("content-length");
  if (Number(length ?? 0) > limit) throw multipart ? uploadTooLarge("the request body", Number(length)) : tooLarge(limit);
  const hasBody = (length !== null && length !== "0") || request.headers.has("transfer-encoding");
  if (!hasBody) return;
  const type = request.headers.get("content-type") ?? "";
  const json = /^application\/([\w.+-]*\+)?json\b/i.test(type);
  if (!(json || (multipart && /^multipart\/form-data/i.test(type)))) {
    throw new Problem(415, BODY_PROBLEMS[415].code, multipart ? "send the file as multipart/form-data" : "send the body as application/json");
  }
  if (!multipart && request.body) return withJsonChecks(request, limit);
}

const tooLarge = (limit: number) => new Problem(413, BODY_PROBLEMS[413].code, `the request body is larger than ${limit} bytes`);

/** The spec's problem for an upload over the limit, whether its declared length or the file itself says so. */
export function uploadTooLarge(what: string, size: number): Problem {
  return new Problem(413, "file_too_large", `${what} is ${size.toLocaleString("en-US")} bytes; an upload may be at most 25 MB (${UPLOAD_MAX_BYTES.toLocaleString("en-US")} bytes)`);
}

function withJsonChecks(request: Request, limit: number): Request {
  let received = 0;
  const shape = new JsonShape();
  const checked = request.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        // Erroring the stream also cancels the source, so the rest of the body is never read.
        const problem = received > limit ? tooLarge(limit) : shape.scan(chunk);
        if (problem) controller.error(problem);
        else controller.enqueue(chunk);
      },
    }),
  );
  return new Request(request.url, { method: request.method, headers: request.headers, body: checked, signal: request.signal, duplex: "half" } as RequestInit);
}

/** The problem a body stream failed with (413, or 400 json_too_complex), when a parser reports it as its own failure. */
export function bodyStreamProblem(error: unknown): Problem | null {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Problem) return e;
  }
  return null;
}

/**
 * Route parser for JSON bodies that may be left out entirely (POST /agents/{id}/publish): an empty request reads
 * as `{}`, anything else must be JSON. Elysia would otherwise take malformed JSON for "no body".
 */
export const optionalJsonBody = [({ request }: { request: Request }) => ((request.headers.get("content-length") ?? "0") === "0" && !request.headers.has("transfer-encoding") ? {} : undefined), "json"];
