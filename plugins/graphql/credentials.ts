// How a GraphQL API is reached: its one endpoint and how requests prove who they are. The auth fields are optional
// in the schema (a connect body names only the ones its authType uses) and checked together when a request is built.
import { PluginError, Type } from "../../src/api/integrations/contract.ts";

export const GraphqlCredentials = Type.Object({
  endpoint: Type.String({ format: "uri", maxLength: 2000, description: "The API's GraphQL endpoint, e.g. https://api.example.com/graphql" }),
  authType: Type.Union([Type.Literal("none"), Type.Literal("bearer"), Type.Literal("header"), Type.Literal("basic")], { description: "How requests authenticate: none, bearer (token), header (headerName, headerValue) or basic (username, password)" }),
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 8000, description: "bearer: sent as Authorization: Bearer <token>" })),
  headerName: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$", description: "header: the header carrying the key, e.g. X-Api-Key" })),
  headerValue: Type.Optional(Type.String({ minLength: 1, maxLength: 8000 })),
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: "basic" })),
  password: Type.Optional(Type.String({ maxLength: 500, description: "basic" })),
});

export interface Endpoint {
  url: URL;
  headers: Record<string, string>;
}

/** The endpoint and the headers every request carries; refused when the auth type's own fields are missing. */
export function endpointOf(credentials: Record<string, unknown>): Endpoint {
  const c = credentials as { endpoint?: string; authType?: string; token?: string; headerName?: string; headerValue?: string; username?: string; password?: string };
  let url: URL;
  try {
    url = new URL(String(c.endpoint));
  } catch {
    throw new PluginError("invalid_input", "endpoint is not a URL", ["credentials.endpoint"]);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new PluginError("invalid_input", "endpoint must be an http(s) URL", ["credentials.endpoint"]);
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
  switch (c.authType ?? "none") {
    case "none":
      break;
    case "bearer":
      if (!c.token) throw new PluginError("refused", "authType bearer needs a token", ["credentials.token"]);
      headers.authorization = `Bearer ${c.token}`;
      break;
    case "header":
      if (!c.headerName || !c.headerValue) throw new PluginError("refused", "authType header needs headerName and headerValue", ["credentials.headerName"]);
      headers[c.headerName.toLowerCase()] = c.headerValue;
      break;
    case "basic":
      if (!c.username) throw new PluginError("refused", "authType basic needs a username (and a password)", ["credentials.username"]);
      headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ""}`).toString("base64")}`;
      break;
    default:
      throw new PluginError("invalid_input", `unknown authType ${c.authType}`, ["credentials.authType"]);
  }
  return { url, headers };
}
