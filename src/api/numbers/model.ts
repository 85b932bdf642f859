// TypeBox shapes of the Numbers tag, shared by routes and the OpenAPI document. Money is USD on the wire.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";
import { NUMBER_FEATURES } from "./provider.ts";

export const MAX_SEARCH_LIMIT = 50;
export const DEFAULT_SEARCH_LIMIT = 20;

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);
const E164 = t.String({ maxLength: 32, description: "E.164, e.g. +14155550142 (a 10-digit North American number is read as +1)" });
const NumberType = t.Union([t.Literal("local"), t.Literal("toll_free"), t.Literal("national"), t.Literal("mobile")]);
const Feature = t.Union(NUMBER_FEATURES.map((f) => t.Literal(f)));
const Usd = (description: string) => t.Number({ minimum: 0, maximum: 100_000, description });
const DigitPattern = (description: string) => t.String({ pattern: "^[0-9A-Za-z]{1,15}$", description: `${description}; letters are read as keypad digits (FLOWERS)` });

export const SearchQuery = t.Object({
  country: t.Optional(t.String({ pattern: "^[A-Za-z]{2}$", description: "ISO 3166 alpha-2 country, e.g. US" })),
  areaCode: t.Optional(t.String({ pattern: "^[0-9]{1,6}$", description: "National destination code: the first digits after the country code (415)" })),
  contains: t.Optional(DigitPattern("Digits anywhere in the national number")),
  startsWith: t.Optional(DigitPattern("First digits after the country code")),
  endsWith: t.Optional(DigitPattern("Last digits (last four, vanity suffix)")),
  numberType: t.Optional(NumberType),
  locality: t.Optional(t.String({ minLength: 1, maxLength: 100, description: "City (case-insensitive)" })),
  administrativeArea: t.Optional(t.String({ minLength: 1, maxLength: 50, description: "State or province, e.g. CA (case-insensitive)" })),
  features: t.Optional(t.Array(Feature, { description: "Required capabilities, all of them; repeat the parameter or separate with commas" })),
  bestEffort: t.Optional(
    t.Boolean({
      default: true,
      description: "Fill the answer with nearby numbers (widening contains/endsWith, then startsWith/areaCode, then locality) after the exact matches; false = exact matches only",
    }),
  ),
  limit: t.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: DEFAULT_SEARCH_LIMIT, description: `1–${MAX_SEARCH_LIMIT}` })),
});
export type SearchQueryInput = Static<typeof SearchQuery>;

export const AvailableNumber = t.Object({
  e164: t.String(),
  formatted: t.String({ description: "(415) 555-0142 in North America, +44 2071234567 elsewhere" }),
  country: t.String(),
  numberType: NumberType,
  locality: Nullable(t.String()),
  region: Nullable(t.String({ description: "State or province" })),
  rateCenter: Nullable(t.String()),
  features: t.Array(t.String()),
  monthlyCost: t.Number({ description: "USD a month" }),
  setupCost: t.Number({ description: "USD once, at purchase" }),
  currency: t.Literal("USD"),
  reservable: t.Boolean({ description: "False when your organization already holds it" }),
  vanityFormat: Nullable(t.String({ description: "The number spelled with the letters searched for" })),
}, { $id: "AvailableNumber" });
export type AvailableNumberDto = Static<typeof AvailableNumber>;

export const SearchResult = t.Composite([
  AvailableNumber,
  t.Object({ bestEffort: t.Boolean({ description: "True when the number only matches a widened search (bestEffort), not every filter" }) }),
]);

export const E164Params = t.Object({ e164: E164 });
export const IdParams = t.Object({ id: t.String({ maxLength: 64, description: "Phone number id" }) });
export const ReservationParams = t.Object({ id: t.String({ maxLength: 64, description: "Reservation id" }) });

export const ReserveBody = t.Object({ e164: E164 });
export const Reservation = t.Object({
  id: t.String({ description: "Pass as reservationId to POST /numbers/purchase" }),
  e164: t.String(),
  expiresAt: t.String({ format: "date-time" }),
}, { $id: "NumberReservation" });

export const PurchaseBody = t.Object({
  e164: E164,
  reservationId: t.Optional(t.String({ maxLength: 64, description: "Your hold on this number (POST /numbers/reserve)" })),
});

export const ImportBody = t.Object({
  e164: E164,
  agentId: t.Optional(t.String({ maxLength: 64, description: "Assign the number to this agent in the same call" })),
});

export const AssignBody = t.Object({ agentId: t.String({ minLength: 1, maxLength: 64 }) });

export const PhoneNumber = t.Object({
  id: t.String(),
  organizationId: t.String(),
  e164: t.String(),
  provider: t.String({ description: "Opaque carrier label" }),
  defaultAgentId: Nullable(t.String()),
  status: t.Union([t.Literal("assigned"), t.Literal("available")], { description: "available = owned but not assigned to an agent" }),
  monthlyCost: t.Number({ description: "USD a month" }),
  features: t.Array(t.String()),
  createdAt: t.String({ format: "date-time" }),
}, { $id: "PhoneNumber" });
export type PhoneNumberDto = Static<typeof PhoneNumber>;

export const PoolNumberBody = t.Object({
  e164: E164,
  country: t.Optional(t.String({ pattern: "^[A-Za-z]{2}$", description: "Default: read from the country calling code" })),
  numberType: t.Optional(NumberType),
  locality: t.Optional(Nullable(t.String({ maxLength: 100 }))),
  administrativeArea: t.Optional(Nullable(t.String({ maxLength: 50 }))),
  rateCenter: t.Optional(Nullable(t.String({ maxLength: 100 }))),
  features: t.Optional(t.Array(Feature, { uniqueItems: true, description: "Default [voice]" })),
  monthlyCost: t.Optional(Usd("USD a month (default 0)")),
  setupCost: t.Optional(Usd("USD once, at purchase (default 0)")),
});
export type PoolNumberInput = Static<typeof PoolNumberBody>;

export const PoolNumber = t.Composite([
  t.Omit(AvailableNumber, ["reservable", "vanityFormat"]),
  t.Object({ provider: t.String(), state: t.Union([t.Literal("free"), t.Literal("held"), t.Literal("owned")]) }),
], { $id: "PoolNumber" });
