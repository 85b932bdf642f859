// The rest plugin outside the app: a plugin context whose fetch is the plain one (the app's egress check is tested
// end to end in test/api/integrations/rest-flow.test.ts), and bindings checked by the app's own binding rules before
// the plugin compiles them, as the bindings route does.
import { randomBytes } from "node:crypto";
import plugin from "../../../plugins/rest/index.ts";
import { checkBinding } from "../../../src/api/integrations/bindings.ts";
import type { CompiledOperation, DiscoveredSchema, PluginContext } from "../../../src/api/integrations/contract.ts";
import type { BindingInput } from "../../../src/api/integrations/model.ts";

export { plugin };

export function context(credentials: Record<string, unknown>, options: { timeoutMs?: number; connectionId?: string } = {}): PluginContext {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const signal = AbortSignal.timeout(timeoutMs);
  return {
    organizationId: "org_test",
    connectionId: options.connectionId ?? `conn_${randomBytes(6).toString("hex")}`,
    credentials,
    fetch: (url, init) => fetch(url, { ...init, signal, redirect: "manual" }),
    checkHost: async (host) => host,
    plaintextAllowed: () => false,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    signal,
    deadline: Date.now() + timeoutMs,
  };
}

/** A binding as the app saves it: validated against the discovered schema, then compiled by the plugin. */
export function bind(schema: DiscoveredSchema, input: Omit<BindingInput, "toolName"> & { toolName?: string }): CompiledOperation {
  const checked = checkBinding({ toolName: "tool", ...input } as BindingInput, schema);
  if ("errors" in checked) throw new Error(`binding refused: ${JSON.stringify(checked.errors)}`);
  return plugin.compile!(checked.binding.validated);
}
