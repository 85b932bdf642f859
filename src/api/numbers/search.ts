// Matching inventory against a number search. Numbers matching every filter come first; with `bestEffort` the
// answer is then filled with numbers matching ever wider filters: the vanity digits (contains, endsWith) go first,
// then the prefix (startsWith, areaCode), then the city. Country, number type, features and state never widen:
// they are requirements, not preferences.
import { describeNumber, keypadDigits } from "./numbering.ts";
import type { InventoryNumber, SearchFilter, SearchHit } from "./provider.ts";

type Widenable = "contains" | "endsWith" | "startsWith" | "areaCode" | "locality";
const WIDENING: Widenable[][] = [["contains", "endsWith"], ["startsWith", "areaCode"], ["locality"]];

/** `candidates` already meet the filters that never widen (country, number type, features). */
export function matchSearch(candidates: InventoryNumber[], filter: SearchFilter): SearchHit[] {
  const levels: Set<Widenable>[] = [new Set()];
  if (filter.bestEffort) {
    for (const step of WIDENING) {
      if (!step.some((name) => filter[name] !== undefined)) continue;
      levels.push(new Set([...levels[levels.length - 1]!, ...step]));
    }
  }
  const hits: SearchHit[] = [];
  const taken = new Set<string>();
  for (const [level, dropped] of levels.entries()) {
    for (const number of candidates) {
      if (hits.length >= filter.limit) return hits;
      if (taken.has(number.e164) || !matches(number, filter, dropped)) continue;
      taken.add(number.e164);
      hits.push({ number, bestEffort: level > 0, vanityFormat: level === 0 ? vanityFormat(number.e164, filter) : null });
    }
  }
  return hits;
}

function matches(number: InventoryNumber, filter: SearchFilter, dropped: Set<Widenable>): boolean {
  const national = describeNumber(number.e164).nationalNumber;
  const given = (name: Widenable) => (dropped.has(name) ? undefined : filter[name]);
  const sameText = (a: string | null, b: string) => a !== null && a.localeCompare(b, undefined, { sensitivity: "base" }) === 0;

  const areaCode = given("areaCode");
  const startsWith = given("startsWith");
  const contains = given("contains");
  const endsWith = given("endsWith");
  const locality = given("locality");
  return (
    (areaCode === undefined || national.startsWith(areaCode)) &&
    (startsWith === undefined || national.startsWith(keypadDigits(startsWith))) &&
    (contains === undefined || national.includes(keypadDigits(contains))) &&
    (endsWith === undefined || national.endsWith(keypadDigits(endsWith))) &&
    (locality === undefined || sameText(number.locality, locality)) &&
    (filter.administrativeArea === undefined || sameText(number.region, filter.administrativeArea))
  );
}

/** `+1 415FLOWERS` for a search with letters in it; null when the search had no letters. */
function vanityFormat(e164: string, filter: SearchFilter): string | null {
  const { callingCode, nationalNumber } = describeNumber(e164);
  const spelled = (at: number, pattern: string) => `+${callingCode} ${nationalNumber.slice(0, at)}${pattern.toUpperCase()}${nationalNumber.slice(at + pattern.length)}`;
  const lettered = (p: string | undefined): p is string => p !== undefined && /[a-z]/i.test(p);
  if (lettered(filter.startsWith)) return spelled(0, filter.startsWith);
  if (lettered(filter.endsWith)) return spelled(nationalNumber.length - filter.endsWith.length, filter.endsWith);
  if (lettered(filter.contains)) return spelled(nationalNumber.indexOf(keypadDigits(filter.contains)), filter.contains);
  return null;
}
