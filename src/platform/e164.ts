// Phone numbers are stored in E.164 (+ and 8–15 digits). A 10-digit North American number is read as +1.
export function normalizePhoneNumber(input: string): string | null {
  const trimmed = input.trim();
  if (!/^[+\d\s().\-\/]+$/.test(trimmed)) return null;
  const digits = trimmed.replace(/\D/g, "");
  if (trimmed.startsWith("+")) return /^[1-9]\d{7,14}$/.test(digits) ? `+${digits}` : null;
  if (trimmed.startsWith("00")) return /^[1-9]\d{7,14}$/.test(digits.slice(2)) ? `+${digits.slice(2)}` : null;
  if (/^[2-9]\d{2}[2-9]\d{6}$/.test(digits)) return `+1${digits}`;
  if (/^1[2-9]\d{2}[2-9]\d{6}$/.test(digits)) return `+${digits}`;
  return null;
}
