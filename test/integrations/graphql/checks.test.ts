// The GraphQL connection test against the stand-in: reachability, authentication by a `{ __typename }` query, and
// introspection, which some servers turn off and discovery needs.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { PluginError } from "../../../src/api/integrations/contract.ts";
import { type GraphqlStandIn, startGraphqlStandIn } from "../../support/graphql-stand-in.ts";
import { bearer, context, plugin } from "./support.ts";

let shop: GraphqlStandIn;
let closed: GraphqlStandIn;
beforeAll(async () => {
  shop = await startGraphqlStandIn();
  closed = await startGraphqlStandIn({ introspection: false });
});
afterAll(async () => {
  await shop?.stop();
  await closed?.stop();
});

const summary = async (credentials: Record<string, unknown>) => (await plugin.test!(context(credentials))).map((c) => [c.name, c.ok, c.detail]);

describe("GraphQL connection test (GraphQL stand-in)", () => {
  it("passes every check with good credentials", async () => {
    expect(await summary(bearer(shop.url))).toEqual([
      ["reachability", true, `HTTP 200 from ${new URL(shop.url).host}`],
      ["authentication", true, "accepted; the query type is Query"],
      ["introspection", true, expect.stringMatching(/^allowed: \d+ types, queries and mutations$/)],
    ]);
    expect(shop.requests.map((r) => r.query.slice(0, 11))).toContain("query Ping ");
  });

  it("fails authentication with a wrong token, the endpoint still reachable", async () => {
    expect(await summary(bearer(shop.url, "not-the-token"))).toEqual([
      ["reachability", true, `HTTP 401 from ${new URL(shop.url).host}`],
      ["authentication", false, "the GraphQL API refused the credentials (HTTP 401)"],
      ["introspection", false, "skipped: authentication failed"],
    ]);
    expect((await summary({ endpoint: shop.url, authType: "none" }))[1]).toEqual(["authentication", false, "the GraphQL API refused the credentials (HTTP 401)"]);
  });

  it("fails introspection clearly when the server turned it off, and discovery says the same", async () => {
    const checks = await summary(bearer(closed.url));
    expect(checks.slice(0, 2).map((c) => c[1])).toEqual([true, true]);
    expect(checks[2]).toEqual([
      "introspection",
      false,
      expect.stringMatching(/^introspection is not allowed on this endpoint \(the GraphQL API answered: GraphQL introspection has been disabled.*\); discovery needs it: enable introspection for these credentials$/),
    ]);
    const error = await plugin.discover!(context(bearer(closed.url))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginError);
    expect((error as PluginError).code).toBe("refused");
  });

  it("fails reachability when nothing answers", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const url = `http://127.0.0.1:${server.port}/graphql`;
    await server.stop(true);
    const checks = await summary(bearer(url));
    expect(checks.map((c) => [c[0], c[1]])).toEqual([
      ["reachability", false],
      ["authentication", false],
      ["introspection", false],
    ]);
    expect(checks[0]![2]).toStartWith("the GraphQL API could not be reached");
  });

  it("labels a connection with the endpoint's host, and sends each auth type's header", async () => {
    expect(plugin.accountLabel!({ endpoint: "https://api.shop.example/graphql", authType: "none" } as never)).toBe("api.shop.example");
    const seen: (string | null)[] = [];
    const echo = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request) => {
        seen.push(request.headers.get("authorization") ?? request.headers.get("x-api-key"));
        return Response.json({ data: { __typename: "Query" } });
      },
    });
    try {
      const endpoint = `http://127.0.0.1:${echo.port}/graphql`;
      await plugin.execute({ operation: "x", document: "{ __typename }", root: "__typename", variables: [], select: [] }, {}, context({ endpoint, authType: "header", headerName: "X-Api-Key", headerValue: "k-123" }));
      await plugin.execute({ operation: "x", document: "{ __typename }", root: "__typename", variables: [], select: [] }, {}, context({ endpoint, authType: "basic", username: "shop", password: "pw" }));
      expect(seen).toEqual(["k-123", `Basic ${btoa("shop:pw")}`]);
    } finally {
      await echo.stop(true);
    }
  });
});
