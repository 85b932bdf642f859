// One interface for turning an address into coordinates, used by the geocode-roster endpoint and the geo skill.
import type { Coordinates } from "./distance.ts";

export interface Place extends Coordinates {
  /** How the place was understood, e.g. "Austin, TX 78701". */
  formatted: string;
  /** What the coordinates stand for: a postal-code or city centroid offline, an address with a geocoder. */
  precision: "postal_code" | "city" | "address";
}

export interface Geocoder {
  /** null when the address cannot be placed; throws GeocoderUnavailable when the geocoder cannot be asked. */
  geocode(address: string): Promise<Place | null>;
}

export class GeocoderUnavailable extends Error {}

/** Remembers answers (misses too): rosters and service-area origins repeat the same addresses. */
export function cachedGeocoder(inner: Geocoder, max = 5000): Geocoder {
  const cache = new Map<string, Place | null>();
  return {
    async geocode(address) {
      const key = address.trim().toLowerCase().replace(/\s+/g, " ");
      if (cache.has(key)) return cache.get(key)!;
      const place = await inner.geocode(address);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(key, place);
      return place;
    },
  };
}
