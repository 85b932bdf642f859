// Any GraphQL API, by introspection: discovery reads the schema the server publishes, a binding becomes a fixed
// query or mutation whose caller values are only ever variables, and the answer is projected onto the binding's
// leaves. docs/plugins.md ("GraphQL providers") tells how arguments map to bindings.
import { definePlugin } from "../../src/api/integrations/contract.ts";
import { catalogOf, introspect } from "./catalog.ts";
import { checks } from "./checks.ts";
import { GraphqlCredentials } from "./credentials.ts";
import { compile, execute } from "./operation.ts";

export default definePlugin({
  kind: "graphql",
  name: "GraphQL API",
  category: "other",
  version: "1.0.0",
  description: "Any GraphQL API: its queries and mutations discovered by introspection, bound as skills with fixed documents",
  skillType: "native_graphql",
  auth: { type: "credentials", schema: GraphqlCredentials },
  accountLabel: (credentials) => new URL(credentials.endpoint).host,
  async discover(ctx) {
    return catalogOf(await introspect(ctx), ctx.log);
  },
  compile,
  execute,
  test: checks,
});
