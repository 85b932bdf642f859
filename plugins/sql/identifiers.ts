// Identifier and literal quoting per dialect. Names come from the discovered schema or an operator; they are
// always quoted, and names no database would produce (control characters, over-long) are refused outright.
import { PluginError } from "../../src/api/integrations/contract.ts";

export type Dialect = "postgres" | "mysql";

const ODD = /[\u0000-\u001f\u007f]/;

export function quoteIdent(dialect: Dialect, name: string, code: "invalid_binding" | "invalid_input" = "invalid_binding"): string {
  if (!name || name.length > 64 || ODD.test(name)) throw new PluginError(code, `"${name.slice(0, 64).replace(ODD, "?")}" is not a usable SQL name`);
  return dialect === "postgres" ? `"${name.replaceAll('"', '""')}"` : `\`${name.replaceAll("`", "``")}\``;
}

/** Plain identifiers only (letters, digits, _ and $, not starting with a digit): what setup scripts accept from an operator. */
export const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export function quoteLiteral(dialect: Dialect, value: string): string {
  if (value.includes("\u0000")) throw new PluginError("invalid_input", "a NUL character cannot be part of an SQL literal");
  // MySQL treats backslash as an escape inside literals (unless NO_BACKSLASH_ESCAPES); Postgres does not.
  const escaped = dialect === "mysql" ? value.replaceAll("\\", "\\\\").replaceAll("'", "''") : value.replaceAll("'", "''");
  return `'${escaped}'`;
}

export function placeholder(dialect: Dialect, index: number): string {
  return dialect === "postgres" ? `$${index}` : "?";
}
