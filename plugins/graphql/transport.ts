// One GraphQL request over HTTP (GraphQL over HTTP: a POST of {query, variables} answered by {data, errors}), through
// the egress-checked fetch, with the connection's auth, the call's deadline and a cap on what is read back. Every way
// it can fail becomes the PluginError code the runtime speaks.
import { type PluginContext, PluginError, type PluginErrorCode, readCapped } from "../../src/api/integrations/contract.ts";
import { endpointOf } from "./credentials.ts";

/** What is read of an answer: a bound operation returns a few records, an introspection a few hundred kilobytes. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** The endpoint answered, and said no to the credentials: it was reached, and the auth failed. */
export class CredentialsRefused extends PluginError {
  constructor(readonly status: number) {
    super("refused", `the GraphQL API refused the credentials (HTTP ${status})`);
  }
}

export interface GraphqlError {
  message?: string;
  path?: unknown[];
  extensions?: { code?: unknown };
}

export interface GraphqlAnswer {
  status: number;
  data: Record<string, unknown> | null;
  errors: GraphqlError[];
}

/** Posts `query` with `variables` (never spliced into the document); answers what came back, or throws a PluginError. */
export async function post(ctx: PluginContext, query: string, variables: Record<string, unknown> = {}): Promise<GraphqlAnswer> {
  const { url, headers } = endpointOf(ctx.credentials);
  let response: Response;
  try {
    response = await ctx.fetch(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch (error) {
    if (ctx.signal.aborted) throw new PluginError("timeout", "the GraphQL API did not answer in time");
    throw new PluginError("unavailable", `the GraphQL API could not be reached: ${reasonOf(error)}`);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new CredentialsRefused(response.status);
  }
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new PluginError("unavailable", `the GraphQL API answered HTTP ${response.status}`);
  }
  const text = await readText(response, ctx);
  let body: { data?: unknown; errors?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    throw new PluginError("unavailable", `the GraphQL API answered HTTP ${response.status} with something that is not JSON`);
  }
  const errors = Array.isArray(body?.errors) ? (body.errors as GraphqlError[]) : [];
  const data = body?.data && typeof body.data === "object" && !Array.isArray(body.data) ? (body.data as Record<string, unknown>) : null;
  // GraphQL over HTTP answers a request it could not run with 4xx and errors; any other 4xx is not a GraphQL answer.
  if (!response.ok && !errors.length) throw new PluginError("unavailable", `the GraphQL API answered HTTP ${response.status}`);
  return { status: response.status, data, errors };
}

/** The PluginError for a GraphQL `errors` list: the first error with a recognizable code or message decides. */
export function failureOf(errors: GraphqlError[]): PluginError {
  const message = errors
    .map((e) => String(e.message ?? "error"))
    .join("; ")
    .slice(0, 500);
  return new PluginError(codeOf(errors), `the GraphQL API answered: ${message}`);
}

const BY_EXTENSION: Record<string, PluginErrorCode> = {
  UNAUTHENTICATED: "refused",
  UNAUTHORIZED: "refused",
  FORBIDDEN: "refused",
  ACCESS_DENIED: "refused",
  NOT_FOUND: "not_found",
  BAD_USER_INPUT: "invalid_input",
  BAD_REQUEST: "invalid_input",
  CONFLICT: "conflict",
  // The document itself no longer fits the API (a field renamed or removed since the binding was saved).
  GRAPHQL_VALIDATION_FAILED: "invalid_binding",
  GRAPHQL_PARSE_FAILED: "invalid_binding",
};

function codeOf(errors: GraphqlError[]): PluginErrorCode {
  for (const error of errors) {
    const code = typeof error.extensions?.code === "string" ? BY_EXTENSION[error.extensions.code.toUpperCase()] : undefined;
    if (code) return code;
  }
  for (const error of errors) {
    const message = String(error.message ?? "");
    // graphql-js's own wording, which most servers pass through: a variable's value that does not coerce.
    if (/^Variable "\$[^"]+" ((got|has) invalid value|of required type|of non-null type)/.test(message)) return "invalid_input";
    if (/^(Cannot query field|Unknown argument|Unknown type|Field "[^"]+" argument "[^"]+" of type)/.test(message)) return "invalid_binding";
    if (/\b(not found|does not exist|no such)\b/i.test(message)) return "not_found";
    if (/\b(unauthenticated|unauthori[sz]ed|forbidden|permission|not allowed|access denied)\b/i.test(message)) return "refused";
    if (/\b(invalid|must be|malformed)\b/i.test(message)) return "invalid_input";
  }
  return "unavailable";
}

async function readText(response: Response, ctx: PluginContext): Promise<string> {
  let body: Uint8Array | null;
  try {
    body = await readCapped(response, MAX_ANSWER_BYTES);
  } catch (error) {
    if (ctx.signal.aborted) throw new PluginError("timeout", "the GraphQL API did not answer in time");
    throw new PluginError("unavailable", `the GraphQL API's answer broke off: ${reasonOf(error)}`);
  }
  if (!body) throw new PluginError("unavailable", `the GraphQL API's answer is larger than ${MAX_ANSWER_BYTES} bytes`);
  return new TextDecoder().decode(body);
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 200);
