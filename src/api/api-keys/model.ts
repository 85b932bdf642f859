import { t } from "elysia";
import { SECRET_KEY_SCOPES } from "../../platform/auth/scopes.ts";

const ScopeName = t.Union(SECRET_KEY_SCOPES.map((s) => t.Literal(s)), { description: "A scope from the catalog (chat:public belongs to publishable keys only)" });

export const ApiKeyCreate = t.Object({
  name: t.String({ minLength: 1, maxLength: 200, pattern: "\\S" }),
  scopes: t.Array(ScopeName, { minItems: 1, maxItems: SECRET_KEY_SCOPES.length, uniqueItems: true, description: "At least one; never more than the calling key holds" }),
}, { $id: "ApiKeyCreate" });

const fields = {
  id: t.String(),
  name: t.String(),
  prefix: t.String({ description: "The first characters of the secret" }),
  last4: t.String(),
  scopes: t.Array(t.String()),
  status: t.Union([t.Literal("active"), t.Literal("revoked")]),
  createdBy: t.Union([t.String(), t.Null()]),
  createdAt: t.String({ format: "date-time" }),
  lastUsedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
  rotatedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
  revokedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
};

export const ApiKey = t.Object(fields, { $id: "ApiKey" });
/** Only creation and rotation return the secret, once. */
export const ApiKeyWithSecret = t.Object({ secret: t.String({ description: "The full key, shown only in this response" }), ...fields }, { $id: "ApiKeyWithSecret" });
