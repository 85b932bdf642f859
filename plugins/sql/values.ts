// Caller values going in (scalars only, bounded) and rows coming out (JSON-safe, binary left out).
import { PluginError } from "../../src/api/integrations/contract.ts";
import type { SqlParam } from "./operation.ts";

export type SqlValue = string | number | boolean | null;

/** Longest string a caller may pass: enough for any name, address or note spoken on a call. */
export const MAX_VALUE_LENGTH = 2_000;

export function bindValues(params: readonly SqlParam[], args: Record<string, unknown>): SqlValue[] {
  return params.map((param) => {
    if (typeof param !== "string") return param.constant;
    const value = Object.hasOwn(args, param) ? args[param] : undefined;
    if (value === undefined) throw new PluginError("invalid_input", `${param} is required`, [param]);
    if (value === null || typeof value === "boolean") return value;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new PluginError("invalid_input", `${param} must be a finite number`, [param]);
      return value;
    }
    if (typeof value === "string") {
      if (value.length > MAX_VALUE_LENGTH) throw new PluginError("invalid_input", `${param} is longer than ${MAX_VALUE_LENGTH} characters`, [param]);
      if (value.includes("\u0000")) throw new PluginError("invalid_input", `${param} contains a NUL character`, [param]);
      return value;
    }
    throw new PluginError("invalid_input", `${param} must be a string, number, boolean or null`, [param]);
  });
}

export function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (value instanceof Uint8Array) continue;
    if (value instanceof Date) out[key] = Number.isNaN(value.getTime()) ? null : value.toISOString();
    else if (typeof value === "bigint") out[key] = value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
    else out[key] = value;
  }
  return out;
}
