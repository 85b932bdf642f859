// Offline geocoding from the `zipcodes` package: US ZIP codes and Canadian forward sortation areas (the first
// three characters of a postal code) with their centroids, and US "City, ST" as the mean of that city's ZIP
// centroids. Precision is a postal area or a city, never a street address. The data (~5 MB) loads on first use.
import type { ZipCode } from "zipcodes";
import { trimEndWhere } from "../caller-text.ts";
import type { Geocoder, Place } from "./geocoder.ts";

type ZipData = typeof import("zipcodes");

const US_ZIP = /\b(\d{5})(?:-\d{4})?\b/g;
const CA_POSTAL = /\b([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])[ -]?\d[ABCEGHJ-NPRSTV-Z]\d\b/gi;
const COUNTRY = /(usa|us|u\.s\.a\.|u\.s\.|united states( of america)?|canada)$/i;

/** "Austin, TX, USA" → "Austin, TX". Trailing space is trimmed first: `/,?\s*(usa|…)\s*$/` retries each space of a run. */
function withoutCountry(text: string): string {
  const trimmed = trimEndWhere(text, /\s/);
  const country = COUNTRY.exec(trimmed);
  if (!country) return text;
  const before = trimEndWhere(trimmed.slice(0, country.index), /\s/);
  return before.endsWith(",") ? before.slice(0, -1) : before;
}

export function offlineGeocoder(load: () => Promise<ZipData> = () => import("zipcodes")): Geocoder {
  let index: Promise<OfflineIndex> | null = null;
  return {
    async geocode(address) {
      index ??= load().then((data) => new OfflineIndex(data));
      return (await index).place(address);
    },
  };
}

export class OfflineIndex {
  private cities = new Map<string, { lat: number; lng: number; city: string; state: string }>();

  constructor(private data: ZipData) {
    const zipsByCity = new Map<string, ZipCode[]>();
    for (const z of Object.values(data.codes)) {
      if (z.country !== "US") continue;
      const key = cityKey(z.city, z.state);
      zipsByCity.set(key, [...(zipsByCity.get(key) ?? []), z]);
    }
    // The median, not the mean: the data holds a few misplaced ZIP codes that would drag a mean far away.
    for (const [key, zips] of zipsByCity) {
      this.cities.set(key, { lat: median(zips.map((z) => z.latitude)), lng: median(zips.map((z) => z.longitude)), city: zips[0]!.city, state: zips[0]!.state });
    }
  }

  place(address: string): Place | null {
    const text = address.trim();
    for (const m of [...text.matchAll(US_ZIP)].reverse()) {
      // A leading five-digit number followed by more text is a street number, not a ZIP code.
      if (m.index === 0 && text.length > m[0].length) continue;
      const z = this.data.lookup(m[1]!);
      if (z?.country === "US") return fromZip(z, `${z.city}, ${z.state} ${z.zip}`);
    }
    for (const m of [...text.matchAll(CA_POSTAL)].reverse()) {
      const z = this.data.lookup(m[1]!.toUpperCase());
      if (z) return fromZip(z, `${z.zip}, ${z.state}, Canada`);
    }
    return this.city(text);
  }

  /** "Austin, TX", "123 Main St, Austin, Texas", "Austin TX". */
  private city(text: string): Place | null {
    const parts = withoutCountry(text.replace(CA_POSTAL, "").replace(US_ZIP, "")).split(",").map((p) => p.trim()).filter(Boolean);
    const last = parts[parts.length - 1];
    if (!last) return null;
    const candidates: [string, string][] = [];
    if (parts.length >= 2) candidates.push([parts[parts.length - 2]!, last]);
    const words = last.split(/\s+/);
    // A state's name is at most three words ("District of Columbia"): trying longer ones would join the words of a long
    // text once per word.
    for (let i = words.length - 1; i >= Math.max(1, words.length - 3); i--) candidates.push([words.slice(0, i).join(" "), words.slice(i).join(" ")]);
    for (const [city, state] of candidates) {
      const abbr = this.stateAbbr(state);
      const hit = abbr && this.cities.get(cityKey(city, abbr));
      if (hit) return { lat: round(hit.lat), lng: round(hit.lng), formatted: `${hit.city}, ${hit.state}`, precision: "city" };
    }
    return null;
  }

  private stateAbbr(text: string): string | null {
    const upper = text.replace(/\./g, "").trim().toUpperCase();
    if (upper.length === 2) return upper in this.data.states.abbr ? upper : null;
    return this.data.states.full[upper] ?? null;
  }
}

const cityKey = (city: string, state: string) => `${city.trim().toUpperCase().replace(/^ST\.? /, "SAINT ")}|${state}`;
const round = (n: number) => Math.round(n * 1e4) / 1e4;
const median = (values: number[]) => {
  const sorted = values.toSorted((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fromZip = (z: ZipCode, formatted: string): Place => ({ lat: z.latitude, lng: z.longitude, formatted, precision: "postal_code" });
