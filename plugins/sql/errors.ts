// Driver errors as plugin errors. Messages are fixed per class: a driver's own message can quote the statement,
// a duplicate value or the user name, so it never leaves this file; the SQLSTATE or error number is kept.
import { PluginError } from "../../src/api/integrations/contract.ts";

const NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "ETIMEDOUT", "EPIPE", "CONNECT_TIMEOUT", "CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "PROTOCOL_CONNECTION_LOST", "PROTOCOL_SEQUENCE_TIMEOUT"]);

/** The connection failed at TLS: the connection test says so under reachability, with the mode that was asked for. */
export class TlsFailure extends PluginError {
  constructor(message: string) {
    super("unavailable", message);
  }
}

/** A failed TLS handshake or certificate check (Node's and OpenSSL's codes), as opposed to anything the server said. */
export function isTlsError(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  // The server's own errors can mention SSL ("no pg_hba.conf entry ... SSL off") without being about the handshake.
  if (/^[0-9A-Z]{5}$/.test(code) || (typeof e?.errno === "number" && e.errno > 0)) return false;
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME|EPROTO/.test(code)) return true;
  return !code && typeof e?.message === "string" && /\b(ssl|tls|certificate)\b/i.test(e.message);
}

/** A PostgreSQL SQLSTATE (postgres.js `code`) or a MySQL/MariaDB error (mysql2 `code` + `errno`) as a PluginError. */
export function sqlFailure(error: unknown): PluginError {
  if (error instanceof PluginError) return error;
  const e = (error ?? {}) as { code?: unknown; errno?: unknown; sqlState?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const errno = typeof e.errno === "number" ? e.errno : 0;
  const state = typeof e.sqlState === "string" ? e.sqlState : /^[0-9A-Z]{5}$/.test(code) ? code : "";
  const tag = state || code || (errno ? String(errno) : "");
  const fail = (c: PluginError["code"], message: string) => new PluginError(c, tag ? `${message} (${tag})` : message);

  if (NETWORK.has(code) || code.startsWith("PROTOCOL_")) return fail("unavailable", "the database cannot be reached");
  if (isTlsError(error) || code === "HANDSHAKE_NO_SSL_SUPPORT") return new TlsFailure(`the TLS connection to the database failed (${tag})`);
  // MySQL: 1969 statement timeout (MariaDB), 3024 query timeout (MySQL), 1317 interrupted, 1205 lock wait.
  if (state === "57014" || state === "55P03" || [1969, 3024, 1317, 1205].includes(errno)) return fail("timeout", "the statement ran out of time");
  if (state === "23505" || errno === 1062 || errno === 1586) return fail("conflict", "a row with that unique value already exists");
  if (state.startsWith("28") || [1044, 1045, 1698, 1251].includes(errno)) return fail("refused", "the database refused the login");
  if (state === "3D000" || errno === 1049) return fail("refused", "the database does not exist or cannot be opened");
  if (state === "42501" || state === "25006" || [1142, 1143, 1227, 1792, 1290].includes(errno)) return fail("refused", "the database refused the statement for this user");
  if (state.startsWith("22") || state.startsWith("23") || [1048, 1264, 1265, 1292, 1366, 1406, 1451, 1452, 3819, 4025].includes(errno)) return fail("invalid_input", "the database refused a value");
  if (["42P01", "42703", "42883"].includes(state) || [1146, 1054].includes(errno)) return fail("invalid_binding", "the statement names a table or column the database no longer has");
  if (state.startsWith("42") || errno === 1064) return fail("invalid_binding", "the database cannot run this statement");
  if (state === "53300" || errno === 1040) return fail("unavailable", "the database has no free connections");
  return fail("unavailable", "the database failed the statement");
}
