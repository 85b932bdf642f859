// The GraphQL plugin's tests drive it directly against the stand-in, with a context built as the app builds one
// (a fetch bound to the call's signal), and bindings checked by the app's own binding rules before compile.
import { randomBytes } from "node:crypto";
import { checkBinding } from "../../../src/api/integrations/bindings.ts";
import type { DiscoveredSchema, PluginContext, ValidatedBinding } from "../../../src/api/integrations/contract.ts";
import type { BindingInput } from "../../../src/api/integrations/model.ts";
import plugin from "../../../plugins/graphql/index.ts";

export { plugin };

export function context(credentials: Record<string, unknown>, options: { timeoutMs?: number; signal?: AbortSignal } = {}): PluginContext & { logs: unknown[][] } {
  const logs: unknown[][] = [];
  const signal = options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 20_000);
  return {
    organizationId: "org_test",
    connectionId: `conn_${randomBytes(6).toString("hex")}`,
    credentials,
    fetch: (url, init) => fetch(url, { ...init, signal }),
    checkHost: async (host) => host,
    plaintextAllowed: () => false,
    log: { debug: (...a) => logs.push(a), info: (...a) => logs.push(a), warn: (...a) => logs.push(a), error: (...a) => logs.push(a) },
    signal,
    deadline: Date.now() + (options.timeoutMs ?? 20_000),
    logs,
  };
}

export const bearer = (endpoint: string, token = "shop-token-123456") => ({ endpoint, authType: "bearer", token });

/** A binding as the app validates it; throws with the app's field errors when it does not pass. */
export function validated(schema: DiscoveredSchema, input: Omit<BindingInput, "toolName"> & { toolName?: string }): ValidatedBinding {
  const checked = checkBinding({ toolName: "tool", ...input } as BindingInput, schema);
  if ("errors" in checked) throw new Error(`binding refused: ${JSON.stringify(checked.errors)}`);
  return checked.binding.validated;
}
