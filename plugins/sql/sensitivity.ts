// Sensitive-column classification: first by the column's name, then by the shape of a small sample of its values,
// because columns are often named vaguely (`ref`, `contact`, `notes`) while holding emails or card numbers.
import type { Sensitivity } from "../../src/api/integrations/contract.ts";

const BY_NAME: [Sensitivity, RegExp][] = [
  ["secret", /(^|_)(password|passwd|pwd|secret|token|api_?key|hash|salt|private_?key|otp)(_|$)/],
  ["payment_card", /(^|_)(card_?(number|num|no)|cc_?(number|num|no)?|credit_?card|pan|cvv|cvc|card_?cvv|expiry|exp_?date)(_|$)/],
  ["pii", /(^|_)(ssn|social_?security|dob|birth(_?date|day)?|date_?of_?birth|passport|licen[cs]e_?(number|no)|national_?id|tax_?id|iban|ip_?address)(_|$)/],
  ["contact", /(^|_)(e_?mail|phone|mobile|cell|address|street|postcode|postal_?code|zip(_?code)?|first_?name|last_?name|full_?name|surname|given_?name)(_|$)/],
];

/** snake_case of a column name, so `creditCardNumber`, `Credit-Card Number` and `credit_card_number` read alike. */
function normalized(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_");
}

export function sensitivityByName(column: string): Sensitivity | null {
  const name = normalized(column);
  for (const [klass, pattern] of BY_NAME) if (pattern.test(name)) return klass;
  return null;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[A-Za-z]{2,}$/;
const SSN = /^\d{3}-\d{2}-\d{4}$/;
const PHONE = /^\+\d[\d\s().-]{6,20}$/;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function looksLikeCard(value: string): boolean {
  const digits = value.replace(/[\s-]/g, "");
  return /^\d{13,19}$/.test(digits) && luhn(digits);
}

/** The class most sampled values share (at least half of them), or null; an empty sample says nothing. */
export function sensitivityByShape(values: string[]): Sensitivity | null {
  const sample = values.map((v) => v.trim()).filter(Boolean);
  if (sample.length === 0) return null;
  const share = (test: (v: string) => boolean) => sample.filter(test).length * 2 >= sample.length;
  if (share(looksLikeCard)) return "payment_card";
  if (share((v) => SSN.test(v))) return "pii";
  if (share((v) => EMAIL.test(v) || PHONE.test(v))) return "contact";
  return null;
}

const RANK: Record<Sensitivity, number> = { contact: 1, pii: 2, payment_card: 3, secret: 4 };

/** The stronger of what the name and the sample say: a `contact` column full of card numbers is a card column. */
export function classify(column: string, sample: string[]): Sensitivity | null {
  const byName = sensitivityByName(column);
  const byShape = sensitivityByShape(sample);
  if (!byName || !byShape) return byName ?? byShape;
  return RANK[byShape] > RANK[byName] ? byShape : byName;
}
