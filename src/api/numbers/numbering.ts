// What an E.164 number says about itself: its country calling code, country, national number and, in the North
// American Numbering Plan, its area code and whether it is toll-free. Enough to describe the trunk's DIDs without a
// carrier lookup; an operator corrects anything else per number (POST /numbers/pool).

/** ISO 3166 "unknown region", for calling codes outside the table below. */
export const UNKNOWN_COUNTRY = "ZZ";

// Longest prefix wins, so three-digit codes are listed with two- and one-digit ones.
const CALLING_CODES: Record<string, string> = {
  "1": "US",
  "7": "RU",
  "27": "ZA",
  "30": "GR",
  "31": "NL",
  "32": "BE",
  "33": "FR",
  "34": "ES",
  "36": "HU",
  "39": "IT",
  "40": "RO",
  "41": "CH",
  "43": "AT",
  "44": "GB",
  "45": "DK",
  "46": "SE",
  "47": "NO",
  "48": "PL",
  "49": "DE",
  "52": "MX",
  "54": "AR",
  "55": "BR",
  "56": "CL",
  "57": "CO",
  "61": "AU",
  "64": "NZ",
  "65": "SG",
  "81": "JP",
  "82": "KR",
  "86": "CN",
  "90": "TR",
  "91": "IN",
  "351": "PT",
  "352": "LU",
  "353": "IE",
  "354": "IS",
  "358": "FI",
  "420": "CZ",
  "852": "HK",
  "971": "AE",
  "972": "IL",
};

// NANP area codes assigned to Canada; every other +1 number is read as the United States.
const CANADIAN_AREA_CODES = new Set(
  "204 226 236 249 250 257 263 273 289 306 343 354 365 367 368 382 387 403 416 418 428 431 437 438 450 460 468 474 506 514 519 548 579 581 584 587 604 613 639 647 672 683 705 709 742 753 778 780 782 807 819 825 867 873 879 902 905 942".split(
    " ",
  ),
);
const NANP_TOLL_FREE = new Set(["800", "833", "844", "855", "866", "877", "888"]);

export type NumberType = "local" | "toll_free" | "national" | "mobile";

export interface NumberFacts {
  callingCode: string;
  country: string;
  /** Digits after the country calling code. */
  nationalNumber: string;
  numberType: NumberType;
}

export function describeNumber(e164: string): NumberFacts {
  const digits = e164.slice(1);
  const callingCode = [3, 2, 1].map((n) => digits.slice(0, n)).find((p) => p in CALLING_CODES);
  if (!callingCode) return { callingCode: digits.slice(0, 1), country: UNKNOWN_COUNTRY, nationalNumber: digits.slice(1), numberType: "local" };
  const nationalNumber = digits.slice(callingCode.length);
  if (callingCode !== "1") return { callingCode, country: CALLING_CODES[callingCode]!, nationalNumber, numberType: "local" };
  const areaCode = nationalNumber.slice(0, 3);
  return {
    callingCode,
    country: CANADIAN_AREA_CODES.has(areaCode) ? "CA" : "US",
    nationalNumber,
    numberType: NANP_TOLL_FREE.has(areaCode) ? "toll_free" : "local",
  };
}

/** `(415) 555-0142` in the NANP, `+44 2071234567` elsewhere. */
export function formatNumber(e164: string): string {
  const { callingCode, nationalNumber } = describeNumber(e164);
  if (callingCode === "1" && nationalNumber.length === 10) return `(${nationalNumber.slice(0, 3)}) ${nationalNumber.slice(3, 6)}-${nationalNumber.slice(6)}`;
  return `+${callingCode} ${nationalNumber}`;
}

const KEYPAD = ["", "", "ABC", "DEF", "GHI", "JKL", "MNO", "PQRS", "TUV", "WXYZ"];

/** Vanity letters to the digits that carry them on a phone keypad (`FLOWERS` → `3569377`). */
export function keypadDigits(pattern: string): string {
  return pattern.toUpperCase().replace(/[A-Z]/g, (letter) => String(KEYPAD.findIndex((keys) => keys.includes(letter))));
}
