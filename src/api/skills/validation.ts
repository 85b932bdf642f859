// The checks on a whole skill that its request schema cannot express: the parameters the caller supplies
// (a real JSON-Schema object whose names can be templated and offered to a model), the requiredParams among
// them, and the executionConfig of the skill's type. Returns the normalized parameters and config.
import { Value } from "@sinclair/typebox/value";
import { normalizePhoneNumber, notAPhoneNumber, type PhoneRegion } from "../../platform/e164.ts";
import { fieldErrors } from "../../platform/http/errors.ts";
import type { FieldError } from "../../platform/http/problem.ts";
import type { SkillType } from "../../runtime/compiled.ts";
import { EXECUTION_CONFIGS, unmetConditions, type HttpWebhookConfig, type TransferConfig } from "../../runtime/tools/index.ts";
import type { ParametersSchemaInput } from "./model.ts";

const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
// Set by the HTTP client from the request itself; an operator value would contradict it.
const PLATFORM_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive"]);

export interface ParameterRules {
  parametersSchema: ParametersSchemaInput;
  requiredParams: string[];
}

export function checkParameters({ parametersSchema, requiredParams }: ParameterRules, errors: FieldError[]): ParameterRules {
  const properties = parametersSchema.properties;
  for (const [name, spec] of Object.entries(properties)) {
    const field = `parametersSchema.properties.${name}`;
    if (!PARAMETER_NAME.test(name)) errors.push({ field, message: "must be a name of letters, digits and _ (not starting with a digit), at most 64 characters" });
    spec.enum?.forEach((value, i) => {
      if (!fitsType(value, spec.type)) errors.push({ field: `${field}.enum[${i}]`, message: `must be ${spec.type === "integer" ? "an" : "a"} ${spec.type}` });
    });
  }
  parametersSchema.required?.forEach((name, i) => {
    if (!Object.hasOwn(properties, name)) errors.push({ field: `parametersSchema.required[${i}]`, message: `"${name}" is not one of parametersSchema.properties` });
  });
  requiredParams.forEach((name, i) => {
    if (!Object.hasOwn(properties, name)) errors.push({ field: `requiredParams[${i}]`, message: `"${name}" is not one of parametersSchema.properties` });
  });
  return {
    parametersSchema: { type: "object", properties, required: parametersSchema.required ?? [] },
    requiredParams: [...new Set(requiredParams)],
  };
}

/** Validate (and fill the defaults of) an executionConfig whose header values are plain text; `region` reads a number without `+`. */
export function checkExecutionConfig(skillType: SkillType, input: Record<string, unknown>, errors: FieldError[], region: PhoneRegion): Record<string, unknown> {
  const schema = EXECUTION_CONFIGS[skillType];
  let config = structuredClone(input);
  // Unknown settings are dropped like any unknown field, except for integration types, which keep what they are sent.
  if (schema.additionalProperties !== true) config = Value.Clean(schema, config) as Record<string, unknown>;
  config = Value.Default(schema, config) as Record<string, unknown>;
  const problems = [
    ...fieldErrors([...Value.Errors(schema, config)], "executionConfig").map((e) => ({ ...e, field: e.field === "executionConfig" ? e.field : `executionConfig.${e.field}` })),
    ...unmetConditions(schema, config).map((e) => ({ ...e, field: `executionConfig.${e.field}` })),
  ];
  errors.push(...problems);
  if (problems.length) return config;

  if (skillType === "http_webhook") checkWebhook(config as HttpWebhookConfig, errors);
  if (skillType === "transfer") {
    const transfer = config as TransferConfig;
    if (transfer.destination !== undefined) {
      const e164 = normalizePhoneNumber(transfer.destination, region);
      if (e164) transfer.destination = e164;
      else errors.push({ field: "executionConfig.destination", message: notAPhoneNumber(region) });
    }
  }
  return config;
}

function checkWebhook(config: HttpWebhookConfig, errors: FieldError[]) {
  // Fill every {param} with a harmless word so the URL's own shape can be checked.
  const sample = config.url.replace(/\{[^{}]*\}/g, "x");
  let url: URL | null = null;
  try {
    url = new URL(sample);
  } catch {}
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    errors.push({ field: "executionConfig.url", message: "must be an http(s) URL, e.g. https://api.example.com/orders/{order_number}" });
  } else if (/^[a-z]+:\/\/[^/?#]*\{/i.test(config.url)) {
    // A caller-chosen host would receive the operator's headers: templates fill the path and query only.
    errors.push({ field: "executionConfig.url", message: "must not take its host from a {param}; templates may fill the path and query only" });
  }
  for (const name of Object.keys(config.headers ?? {})) {
    const field = `executionConfig.headers.${name}`;
    if (!HEADER_NAME.test(name)) errors.push({ field, message: "is not a valid HTTP header name" });
    else if (PLATFORM_HEADERS.has(name.toLowerCase())) errors.push({ field, message: "is set by the platform and cannot be configured" });
  }
  for (const variable of Object.keys(config.response_mapping ?? {})) {
    if (!PARAMETER_NAME.test(variable)) errors.push({ field: `executionConfig.response_mapping.${variable}`, message: "must be a variable name of letters, digits and _" });
  }
}

function fitsType(value: unknown, type: string): boolean {
  if (type === "integer") return Number.isInteger(value);
  return typeof value === type;
}
