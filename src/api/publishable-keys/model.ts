// TypeBox shapes of the PublishableKeys tag, shared by routes and the OpenAPI document.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

export const MAX_ALLOWED_ORIGINS = 20;
export const DEFAULT_RATE_LIMIT_RPM = 60;

const Name = t.String({ minLength: 1, maxLength: 200, pattern: "\\S", description: "A label, e.g. the site it serves" });
const AllowedOrigins = t.Array(t.String({ minLength: 1, maxLength: 300 }), {
  minItems: 1,
  maxItems: MAX_ALLOWED_ORIGINS,
  description: "Exact origins (scheme://host[:port], no path) the widget may run on; stored lowercase. List both apex and www when both are served.",
});
const RateLimitRpm = Type.Integer({ minimum: 1, maximum: 6000, description: `Requests a minute this key may make (default ${DEFAULT_RATE_LIMIT_RPM})` });
const RequireIdentityVerification = t.Boolean({ description: "Widget sessions need an identityToken (default false)" });

export const PublishableKeyCreate = t.Object({
  name: Name,
  allowedOrigins: AllowedOrigins,
  env: t.Optional(t.Union([t.Literal("live"), t.Literal("test")], { description: "Part of the key's prefix (flowyte_pk_live_…); default live" })),
  rateLimitRpm: t.Optional(RateLimitRpm),
  requireIdentityVerification: t.Optional(RequireIdentityVerification),
}, { $id: "PublishableKeyCreate" });
export type PublishableKeyCreateInput = Static<typeof PublishableKeyCreate>;

export const PublishableKeyPatch = t.Object(
  {
    name: t.Optional(Name),
    allowedOrigins: t.Optional(AllowedOrigins),
    rateLimitRpm: t.Optional(RateLimitRpm),
    requireIdentityVerification: t.Optional(RequireIdentityVerification),
  },
  { description: "Only the fields sent change" },
);
export type PublishableKeyPatchInput = Static<typeof PublishableKeyPatch>;

export const PublishableKey = t.Object({
  id: t.String(),
  agentId: t.String(),
  organizationId: t.String(),
  name: t.String(),
  keyPublic: t.String({ description: "The full key (flowyte_pk_…): public by design, readable again at any time" }),
  env: t.Union([t.Literal("live"), t.Literal("test")]),
  allowedOrigins: t.Array(t.String()),
  rateLimitRpm: Type.Integer(),
  requireIdentityVerification: t.Boolean(),
  status: t.Union([t.Literal("active"), t.Literal("revoked")]),
  previousKeyExpiresAt: t.Union([t.String({ format: "date-time" }), t.Null()], {
    description: "After a rotation, the previous value keeps working until this time (24 hours after the rotation)",
  }),
  createdAt: t.String({ format: "date-time" }),
  updatedAt: t.String({ format: "date-time" }),
  revokedAt: t.Union([t.String({ format: "date-time" }), t.Null()]),
}, { $id: "PublishableKey" });
export type PublishableKeyDto = Static<typeof PublishableKey>;
