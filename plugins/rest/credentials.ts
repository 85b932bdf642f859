// What connecting a REST API takes: where its OpenAPI document is, optionally where the API is, and how to
// authenticate. Which fields an auth type needs is checked here (the schema keeps every field optional so that one
// object describes every auth type), and a missing one is named in the PluginError.
import type { Static } from "@sinclair/typebox";
import { PluginError, Type } from "../../src/api/integrations/contract.ts";

const Secret = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description }));
const Name = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 200, description }));

export const AUTH_TYPES = ["none", "api_key_header", "api_key_query", "bearer", "basic", "oauth_client_credentials"] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

export const RestCredentialsSchema = Type.Object({
  baseUrl: Type.Optional(Type.String({ format: "uri", maxLength: 2000, description: "The API's root; overrides the document's first server" })),
  document: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: 5_000_000 }), Type.Record(Type.String(), Type.Unknown())], { description: "The OpenAPI 3.x document (JSON or YAML text, or the object)" }),
  ),
  documentUrl: Type.Optional(Type.String({ format: "uri", maxLength: 2000, description: "Where to fetch the OpenAPI document, when it is not given inline" })),
  authType: Type.Union(
    AUTH_TYPES.map((t) => Type.Literal(t)),
    { description: "none, api_key_header, api_key_query, bearer, basic or oauth_client_credentials" },
  ),
  apiKeyName: Name("The header or query parameter that carries the API key (api_key_header, api_key_query)"),
  apiKey: Secret("The API key (api_key_header, api_key_query)"),
  token: Secret("The bearer token (bearer)"),
  username: Name("basic"),
  password: Secret("basic"),
  tokenUrl: Type.Optional(Type.String({ format: "uri", maxLength: 2000, description: "The OAuth token endpoint (oauth_client_credentials)" })),
  clientId: Name("oauth_client_credentials"),
  clientSecret: Secret("oauth_client_credentials"),
  scope: Type.Optional(Type.String({ maxLength: 2000, description: "Scopes to ask for, space-separated (oauth_client_credentials)" })),
});

export type RestCredentials = Static<typeof RestCredentialsSchema>;

const NEEDS: Record<AuthType, (keyof RestCredentials)[]> = {
  none: [],
  api_key_header: ["apiKeyName", "apiKey"],
  api_key_query: ["apiKeyName", "apiKey"],
  bearer: ["token"],
  basic: ["username", "password"],
  oauth_client_credentials: ["tokenUrl", "clientId", "clientSecret"],
};

/** Throws naming every field the auth type needs and the credentials lack, and when no document is given. */
export function checkCredentials(credentials: RestCredentials): void {
  const missing = NEEDS[credentials.authType].filter((f) => credentials[f] === undefined || credentials[f] === "");
  if (missing.length) throw new PluginError("invalid_input", `${credentials.authType} needs ${missing.join(", ")}`, missing);
  if (credentials.document === undefined && !credentials.documentUrl) {
    throw new PluginError("invalid_input", "give the OpenAPI document (document) or where to fetch it (documentUrl)", ["document", "documentUrl"]);
  }
}
