// The connection test: the endpoint answers, the credentials are accepted (a `{ __typename }` query, which every
// GraphQL server answers for anyone it lets in), and introspection is allowed, which discovery needs. Some servers
// turn introspection off in production; that check then fails saying so, rather than discovery failing later.
import type { ConnectionCheck, PluginContext } from "../../src/api/integrations/contract.ts";
import { PluginError } from "../../src/api/integrations/contract.ts";
import { introspect } from "./catalog.ts";
import { CredentialsRefused, failureOf, post } from "./transport.ts";

export async function checks(ctx: PluginContext): Promise<ConnectionCheck[]> {
  const results: ConnectionCheck[] = [];
  let failed: string | null = null;
  const step = async (name: string, check: () => Promise<string>) => {
    if (failed) return void results.push({ name, ok: false, ms: 0, detail: `skipped: ${failed} failed` });
    const started = performance.now();
    try {
      const detail = await check();
      results.push({ name, ok: true, ms: Math.round(performance.now() - started), detail });
    } catch (error) {
      failed = name;
      results.push({ name, ok: false, ms: Math.round(performance.now() - started), detail: error instanceof Error ? error.message : String(error) });
    }
  };

  // One request answers both the first checks: whether anything answered, and whether it let us in.
  let typename: Promise<Awaited<ReturnType<typeof post>>> | null = null;
  const ping = () => {
    typename ??= post(ctx, "query Ping { __typename }");
    return typename;
  };
  await step("reachability", async () => {
    try {
      return `HTTP ${(await ping()).status} from ${hostOf(ctx)}`;
    } catch (error) {
      // Refused credentials still mean the endpoint answered: that is the next check's failure.
      if (error instanceof CredentialsRefused) return `HTTP ${error.status} from ${hostOf(ctx)}`;
      throw error;
    }
  });
  await step("authentication", async () => {
    const answer = await ping();
    if (typeof answer.data?.__typename === "string") return `accepted; the query type is ${answer.data.__typename}`;
    throw answer.errors.length ? failureOf(answer.errors) : new PluginError("refused", "the endpoint did not answer a GraphQL query");
  });
  await step("introspection", async () => {
    const schema = await introspect(ctx);
    const types = Object.keys(schema.getTypeMap()).filter((t) => !t.startsWith("__")).length;
    return `allowed: ${types} types, ${schema.getMutationType() ? "queries and mutations" : "queries only"}`;
  });
  return results;
}

const hostOf = (ctx: PluginContext) => {
  try {
    return new URL(String(ctx.credentials.endpoint)).host;
  } catch {
    return "the endpoint";
  }
};
