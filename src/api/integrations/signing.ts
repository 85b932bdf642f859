// A compiled operation is signed when the app compiles it from a validated binding (or a plugin's action or pack),
// and checked before it runs: a skill's executionConfig edited by hand (through PATCH /skills) cannot smuggle in an
// operation, table or column the binding rules and the organization's scoping never approved. What the app records
// with the operation (`touches`: the objects and fields a binding reaches) is signed with it.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Sealer } from "../../platform/crypto.ts";
import type { CompiledOperation } from "./contract.ts";

export const SIGNATURE_KEY = "signature";

export interface OperationSigner {
  sign(kind: string, operation: CompiledOperation): CompiledOperation & { signature: string };
  verify(kind: string, config: Record<string, unknown>): boolean;
}

export function createOperationSigner(sealer: Sealer): OperationSigner {
  const key = sealer.deriveKey("integration-operation");
  const mac = (kind: string, operation: Record<string, unknown>) => createHmac("sha256", key).update(kind).update("\0").update(canonical(operation)).digest("base64url");
  return {
    sign(kind, operation) {
      const { [SIGNATURE_KEY]: _, ...unsigned } = operation;
      return { ...unsigned, operation: operation.operation, signature: mac(kind, unsigned) };
    },
    verify(kind, config) {
      // Where the skill came from (integration, source, action) is stored beside the signed operation, not in it.
      const { [SIGNATURE_KEY]: signature, integration: _i, source: _s, action: _a, ...unsigned } = config;
      if (typeof signature !== "string") return false;
      const expected = Buffer.from(mac(kind, unsigned));
      const given = Buffer.from(signature);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}

/** JSON with object keys sorted, so a config stored in jsonb (which reorders keys) signs the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}
