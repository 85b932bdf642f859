// Geocoding and distances. The configured geocoder (GEOCODER_URL) when there is one, else the offline data.
import type { Config } from "../../config.ts";
import { cachedGeocoder, type Geocoder } from "./geocoder.ts";
import { nominatimGeocoder } from "./nominatim.ts";
import { offlineGeocoder } from "./offline.ts";

export { distanceMiles } from "./distance.ts";
export { GeocoderUnavailable, type Geocoder, type Place } from "./geocoder.ts";
export { nominatimGeocoder } from "./nominatim.ts";
export { offlineGeocoder } from "./offline.ts";

export function createGeocoder(config: Pick<Config, "geocoderUrl" | "publicBaseUrl">): Geocoder {
  return cachedGeocoder(config.geocoderUrl ? nominatimGeocoder(config.geocoderUrl, `flowyte-selfhosted (${config.publicBaseUrl})`) : offlineGeocoder());
}
