// Geocode a location roster for a find_nearest_location skill. Stateless: the client stores the coordinates in
// the skill's executionConfig.locations. A row that cannot be placed is reported, not an error.
import type { Geocoder, Place } from "../../platform/geo/index.ts";
import type { GeocodeRosterResultDto, RosterEntryInput } from "./model.ts";

// Bounded so a 100-row roster neither takes 100 round trips in a row nor floods a configured geocoder.
const CONCURRENCY = 4;

export async function geocodeRoster(geocoder: Geocoder, entries: RosterEntryInput[]): Promise<GeocodeRosterResultDto> {
  const places: (Place | null)[] = new Array(entries.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      places[i] = await geocoder.geocode(entries[i]!.address).catch(() => null);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));

  const rows = entries.map((entry, i) => {
    const place = places[i];
    return {
      label: entry.label,
      address: entry.address,
      phone: entry.phone ?? null,
      lat: place?.lat ?? null,
      lng: place?.lng ?? null,
      geocoded: place !== null && place !== undefined,
      formatted: place?.formatted ?? null,
      precision: place?.precision ?? null,
    };
  });
  const geocoded = rows.filter((r) => r.geocoded).length;
  return { entries: rows, geocoded, failed: rows.length - geocoded };
}
