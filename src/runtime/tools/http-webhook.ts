// http_webhook: call the operator's endpoint with the skill's arguments and read its small JSON answer back.
// The destination passes the egress guard (on every redirect too); header values are stored sealed.
import { Type, type Static } from "@sinclair/typebox";
import type { Sealer } from "../../platform/crypto.ts";
import { EgressRefused, TooManyRedirects, type EgressGuard } from "../../platform/egress.ts";
import { readCapped } from "../../platform/http/capped-body.ts";
import { egressRefused, failure } from "./outcomes.ts";
import { oneOf } from "./schema.ts";
import { egressLookup, fillJson, fillTemplate, lookupIn, singleLine } from "./templates.ts";
import type { RunSkill, SkillOutcome } from "./types.ts";

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const DEFAULT_TIMEOUT_MS = 4000;
const MAX_RESPONSE_BYTES = 1024 * 1024;
const USER_AGENT = "flowyte-selfhosted-skill/1";

export const HttpWebhookConfig = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2000, description: "http(s) URL; {param} templates are filled with URL-encoded values" }),
  method: Type.Optional(oneOf(HTTP_METHODS, { default: "POST" })),
  headers: Type.Optional(
    Type.Record(Type.String(), Type.String({ maxLength: 4000 }), {
      maxProperties: 50,
      description: "Header name → value ({param} templates allowed). Stored encrypted; read back masked as ••••last4",
    }),
  ),
  body: Type.Optional(
    Type.Union([Type.String({ maxLength: 20_000 }), Type.Record(Type.String(), Type.Unknown())], {
      description: "Template of the request body: a JSON object (a string that is exactly {param} keeps the value's type) or text. Default: the call's arguments as JSON. Never sent with GET",
    }),
  ),
  timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 30_000, default: DEFAULT_TIMEOUT_MS, description: "Give up after this many milliseconds" })),
  response_mapping: Type.Optional(
    Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 200 }), {
      maxProperties: 50,
      description: "Conversation variable → dotted path into the JSON answer, e.g. {\"eta\": \"order.delivery.eta\", \"first\": \"items[0].name\"}",
    }),
  ),
});
export type HttpWebhookConfig = Static<typeof HttpWebhookConfig>;

class ResponseTooLarge extends Error {}

export function httpWebhookExecutor(deps: { guard: EgressGuard; sealer: Sealer }): RunSkill {
  return async (skill, args, ctx) => {
    const config = skill.executionConfig as HttpWebhookConfig;
    const { lookup, refused } = egressLookup(lookupIn(args, ctx.variables), ctx.dataEgress);
    const method = config.method ?? "POST";
    const timeoutMs = config.timeout_ms ?? DEFAULT_TIMEOUT_MS;

    let url: URL;
    try {
      url = new URL(fillTemplate(config.url, lookup, encodeURIComponent));
    } catch {
      return failure("invalid_url", "the webhook URL is not a valid URL once filled in");
    }

    const headers = new Headers({ accept: "application/json", "user-agent": USER_AGENT });
    for (const [name, sealed] of Object.entries(config.headers ?? {})) {
      let value: string;
      try {
        value = deps.sealer.open(sealed);
      } catch {
        return failure("secret_unreadable", `the stored value of header ${name} cannot be decrypted (was MASTER_KEY changed?); set it again`);
      }
      try {
        headers.set(name, singleLine(fillTemplate(value, lookup)));
      } catch {
        return failure("invalid_header", `header ${name} is not a valid HTTP header value once filled in`);
      }
    }

    let body: string | undefined;
    if (method !== "GET" && (method !== "DELETE" || config.body !== undefined)) {
      if (typeof config.body === "string") {
        body = fillTemplate(config.body, lookup);
        if (!headers.has("content-type")) headers.set("content-type", "text/plain; charset=utf-8");
      } else {
        body = JSON.stringify(config.body === undefined ? args : fillJson(config.body, lookup));
        if (!headers.has("content-type")) headers.set("content-type", "application/json");
      }
    }

    if (refused.length) return egressRefused(refused);

    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, ctx.signal]);
    try {
      const response = await deps.guard.fetch(url, { method, headers, body, signal });
      if (!response.ok) {
        await response.body?.cancel();
        return failure("http_error", String(response.status));
      }
      const answer = parseAnswer(await readText(response, MAX_RESPONSE_BYTES));
      return resultOf(answer, config.response_mapping);
    } catch (err) {
      if (err instanceof EgressRefused) return failure("egress_refused", err.message);
      if (err instanceof TooManyRedirects) return failure("too_many_redirects", err.message);
      if (err instanceof ResponseTooLarge) return failure("response_too_large", `the answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
      if (timeout.aborted) return failure("timeout", `no answer within ${timeoutMs} ms`);
      if (ctx.signal.aborted) return failure("cancelled", "the conversation stopped waiting for the answer");
      return failure("unreachable", `could not reach ${url.host}: ${(err as Error).message}`);
    }
  };
}

function resultOf(answer: unknown, mapping: Record<string, string> | undefined): SkillOutcome {
  const data = answer !== null && typeof answer === "object" && !Array.isArray(answer) ? (answer as Record<string, unknown>) : { value: answer };
  if (!mapping) return { kind: "result", data };
  const variables: Record<string, unknown> = {};
  const variableSources: Record<string, string> = {};
  for (const [variable, path] of Object.entries(mapping)) {
    const value = valueAt(answer, path);
    if (value === undefined) continue;
    variables[variable] = value;
    // Paths are into `data`; a non-object answer is `{value}` there.
    variableSources[variable] = data === answer ? path : path.startsWith("[") ? `value${path}` : `value.${path}`;
  }
  return { kind: "result", data, variables, variableSources };
}

/** `order.items[0].name` (or `order.items.0.name`) inside a parsed JSON answer. */
function valueAt(root: unknown, path: string): unknown {
  const keys = path.replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean);
  let value = root;
  for (const key of keys) {
    if (Array.isArray(value) && /^\d+$/.test(key)) value = value[Number(key)];
    else if (value !== null && typeof value === "object" && Object.hasOwn(value, key)) value = (value as Record<string, unknown>)[key];
    else return undefined;
  }
  return value;
}

/** JSON when it parses (whatever the content type claims), else the text itself. */
function parseAnswer(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}

async function readText(response: Response, max: number): Promise<string> {
  const body = await readCapped(response, max);
  if (!body) throw new ResponseTooLarge();
  return new TextDecoder().decode(body);
}
