// A Nominatim-compatible geocoder (Nominatim itself, or services speaking its /search API) that the operator
// configured with GEOCODER_URL. It is the operator's own choice of host, so it is called directly, not
// through the tenant egress guard.
import { GeocoderUnavailable, type Geocoder } from "./geocoder.ts";

const TIMEOUT_MS = 5000;

export function nominatimGeocoder(baseUrl: string, userAgent: string, fetchImpl: typeof fetch = fetch): Geocoder {
  return {
    async geocode(address) {
      const url = new URL(`${baseUrl}/search`);
      url.search = new URLSearchParams({ format: "jsonv2", limit: "1", q: address }).toString();
      let body: unknown;
      try {
        // Nominatim's usage policy asks every client to identify itself.
        const res = await fetchImpl(url, { headers: { accept: "application/json", "user-agent": userAgent }, signal: AbortSignal.timeout(TIMEOUT_MS) });
        if (!res.ok) throw new Error(`answered ${res.status}`);
        body = await res.json();
      } catch (err) {
        throw new GeocoderUnavailable(`the geocoder at ${baseUrl} did not answer: ${(err as Error).message}`);
      }
      const hit = Array.isArray(body) ? (body[0] as { lat?: string; lon?: string; display_name?: string } | undefined) : undefined;
      const lat = Number(hit?.lat);
      const lng = Number(hit?.lon);
      if (!hit || !Number.isFinite(lat) || !Number.isFinite(lng)) return null;
      return { lat, lng, formatted: hit.display_name ?? address, precision: "address" };
    },
  };
}
