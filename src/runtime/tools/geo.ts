// geo: is the caller inside the service area, or which of the operator's locations is nearest to them.
// Distances are straight-line miles between geocoded points (see src/platform/geo for the precision).
import { Type, type Static } from "@sinclair/typebox";
import { distanceMiles, GeocoderUnavailable, type Geocoder } from "../../platform/geo/index.ts";
import { oneOf, requiredWhen } from "./schema.ts";
import { failure } from "./outcomes.ts";
import type { RunSkill, SkillOutcome } from "./types.ts";

const GEO_ACTIONS = ["check_service_area", "find_nearest_location"] as const;

const GeoLocation = Type.Object({
  label: Type.String({ minLength: 1, maxLength: 200 }),
  address: Type.String({ minLength: 1, maxLength: 500 }),
  phone: Type.Optional(Type.Union([Type.String({ maxLength: 32 }), Type.Null()])),
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lng: Type.Number({ minimum: -180, maximum: 180 }),
});

export const GeoConfig = Type.Object(
  {
    action: oneOf(GEO_ACTIONS),
    origin_address: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: "check_service_area: the centre of the service area" })),
    radius_miles: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 5000, description: "check_service_area: straight-line radius in miles" })),
    locations: Type.Optional(
      Type.Array(GeoLocation, { minItems: 1, maxItems: 1000, description: "find_nearest_location: the roster, with coordinates from POST /agents/{id}/geocode-roster" }),
    ),
  },
  {
    allOf: [requiredWhen("action", "check_service_area", ["origin_address", "radius_miles"]), requiredWhen("action", "find_nearest_location", ["locations"])],
  },
);
export type GeoConfig = Static<typeof GeoConfig>;

export function geoExecutor(deps: { geocoder: Geocoder }): RunSkill {
  return async (skill, args) => {
    const config = skill.executionConfig as GeoConfig;
    const address = typeof args.address === "string" && args.address.trim() ? args.address : Object.values(args).find((v): v is string => typeof v === "string" && v.trim() !== "");
    if (!address) return failure("address_not_found", "no address was given");
    try {
      const place = await deps.geocoder.geocode(address);
      if (!place) return failure("address_not_found", `"${address}" could not be placed on the map`);
      if (config.action === "check_service_area") {
        const origin = await deps.geocoder.geocode(config.origin_address!);
        if (!origin) return failure("address_not_found", `the service-area origin "${config.origin_address}" could not be placed on the map`);
        const miles = distanceMiles(origin, place);
        return result({ inArea: miles <= config.radius_miles!, distanceMiles: round(miles), origin: origin.formatted, address: place.formatted });
      }
      const [nearest] = config.locations!.map((l) => ({ l, miles: distanceMiles(l, place) })).sort((a, b) => a.miles - b.miles);
      return result({ label: nearest!.l.label, address: nearest!.l.address, phone: nearest!.l.phone ?? null, distanceMiles: round(nearest!.miles) });
    } catch (err) {
      if (err instanceof GeocoderUnavailable) return failure("geocoder_unavailable", err.message);
      throw err;
    }
  };
}

const result = (data: Record<string, unknown>): SkillOutcome => ({ kind: "result", data });
const round = (miles: number) => Math.round(miles * 10) / 10;
