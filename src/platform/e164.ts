// Phone numbers are stored in E.164 (+ and up to 15 digits). Reading the forms people type and say, in any country,
// is libphonenumber-js's work (Google's numbering metadata, kept up to date by its maintainers), not ours.
import { type CountryCode, getCountries, parsePhoneNumberFromString } from "libphonenumber-js";

/** An ISO 3166-1 alpha-2 region libphonenumber knows: how a number written without `+` is read (`GB`: 020… → +4420…). */
export type PhoneRegion = CountryCode;

const REGIONS = new Set<string>(getCountries());

export function isPhoneRegion(value: string): value is PhoneRegion {
  return REGIONS.has(value);
}

/**
 * A number in E.164, or null when it is none. A number written with `+` (or the international prefix `00`) says its
 * own country; any other is read as a number of `region` (`020 7946 0018` in GB, `(415) 555-0142` in US). A number
 * must be possible for its country (libphonenumber's length rules); it is not checked against the ranges actually
 * assigned, so the fictional numbers of docs and tests (+1 555…) pass.
 */
export function normalizePhoneNumber(input: string, region: PhoneRegion): string | null {
  const trimmed = input.trim();
  if (!/^[+\d\s().\-\/]+$/.test(trimmed)) return null;
  const international = trimmed.startsWith("00") ? `+${trimmed.slice(2)}` : trimmed;
  const parsed = parsePhoneNumberFromString(international, international.startsWith("+") ? undefined : region);
  return parsed?.isPossible() ? parsed.number : null;
}

/** What a field that holds no phone number is told (a 400's `errors[].message`). */
export function notAPhoneNumber(region: PhoneRegion): string {
  return `is not a phone number: write it in E.164 with its country code (+442079460018), or as a number of ${region}`;
}

/**
 * The region a number without `+` is read in: the region of a BCP 47 language tag's region subtag (`en-GB`, `de-AT`)
 * when it names one, else `fallback` (the server's DEFAULT_PHONE_REGION).
 */
export function phoneRegionOf(languageTag: string | null | undefined, fallback: PhoneRegion): PhoneRegion {
  const subtag = languageTag?.split("-").find((part, i) => i > 0 && /^[A-Za-z]{2}$/.test(part))?.toUpperCase();
  return subtag && isPhoneRegion(subtag) ? subtag : fallback;
}

/** The country of an E.164 number (`+4930…` → DE), or null for one libphonenumber cannot place. */
export function phoneRegionOfNumber(e164: string): PhoneRegion | null {
  return parsePhoneNumberFromString(e164)?.country ?? null;
}
