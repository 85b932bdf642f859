// The credential fields both SQL dialects take, and how each TLS mode maps onto Node's TLS options.
import type { ConnectionOptions } from "node:tls";
import type { Static } from "@sinclair/typebox";
import { PluginError, Type } from "../../src/api/integrations/contract.ts";

export const SqlCredentials = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 253, description: "Host name or address of the database server" }),
    port: Type.String({ pattern: "^[0-9]{1,5}$", description: "TCP port, as a string of digits" }),
    database: Type.String({ minLength: 1, maxLength: 64 }),
    user: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ maxLength: 1024 }),
    sslmode: Type.Union([Type.Literal("require"), Type.Literal("verify-ca"), Type.Literal("verify-full"), Type.Literal("disable")], {
      description: "require: TLS without certificate checks; verify-ca: the chain; verify-full: chain and host name; disable: only for hosts in SQL_PLAINTEXT_HOSTS",
    }),
    ca_pem: Type.Optional(Type.String({ maxLength: 65536, description: "PEM certificate authority for verify-ca/verify-full (the system CAs when absent)" })),
  },
  { additionalProperties: false },
);
export type SqlCredentials = Static<typeof SqlCredentials>;

/** The credentials as stored, checked again here because a plugin cannot assume the caller validated them. */
export function readCredentials(raw: Record<string, unknown>): SqlCredentials {
  const text = (key: string, required = true) => {
    const value = raw[key];
    if (value === undefined && !required) return undefined;
    if (typeof value !== "string" || (required && key !== "password" && !value.trim())) throw new PluginError("invalid_input", `credentials.${key} is required`, [key]);
    return value;
  };
  const port = text("port")!;
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new PluginError("invalid_input", "credentials.port must be a port number (1-65535)", ["port"]);
  const sslmode = text("sslmode")!;
  if (!["require", "verify-ca", "verify-full", "disable"].includes(sslmode)) {
    throw new PluginError("invalid_input", "credentials.sslmode must be require, verify-ca, verify-full or disable", ["sslmode"]);
  }
  return {
    host: text("host")!.trim().toLowerCase(),
    port,
    database: text("database")!,
    user: text("user")!,
    password: text("password")!,
    sslmode: sslmode as SqlCredentials["sslmode"],
    ca_pem: text("ca_pem", false),
  };
}

export function accountLabel(credentials: SqlCredentials): string {
  return `${credentials.user}@${credentials.host}:${credentials.port}/${credentials.database}`;
}

/** `disable` only for hosts the operator listed: a database on a private network without TLS. */
export function refusePlaintext(credentials: SqlCredentials, plaintextAllowed: boolean): void {
  if (credentials.sslmode === "disable" && !plaintextAllowed) {
    throw new PluginError("refused", `sslmode "disable" is refused for ${credentials.host}: list the host in SQL_PLAINTEXT_HOSTS to reach it without TLS (databases on a private network only)`, ["sslmode"]);
  }
}

/**
 * TLS options for a connection to `address` (what checkHost answered) on behalf of `host` (what the operator typed):
 * the certificate is checked against the name, never the pinned address. Null means plaintext.
 */
export function tlsOptions(credentials: SqlCredentials, plaintextAllowed: boolean): ConnectionOptions | null {
  const { host, sslmode, ca_pem } = credentials;
  refusePlaintext(credentials, plaintextAllowed);
  if (sslmode === "disable") return null;
  const servername = /^[0-9.]+$|:/.test(host) ? undefined : host;
  const ca = ca_pem ? { ca: ca_pem } : {};
  if (sslmode === "require") return { servername, rejectUnauthorized: false };
  // verify-ca: the chain must lead to a trusted CA, whatever name the certificate carries.
  if (sslmode === "verify-ca") return { servername, rejectUnauthorized: true, checkServerIdentity: () => undefined, ...ca };
  return { servername, rejectUnauthorized: true, ...ca };
}

export function describeTls(credentials: SqlCredentials): string {
  return credentials.sslmode === "disable" ? "plaintext (host listed in SQL_PLAINTEXT_HOSTS)" : `TLS (${credentials.sslmode})`;
}
