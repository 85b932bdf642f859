// Secrets at rest: AES-256-GCM under the operator's MASTER_KEY. Sealed values are text
// `v1.<iv>.<tag>.<ciphertext>` (base64url parts) so they fit any text column and carry their format version.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseMasterKey } from "../config.ts";
import type { Logger } from "./log.ts";

export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
  /** A key of its own for one purpose (e.g. signing visitor tokens), derived from the master key. */
  deriveKey(purpose: string): Buffer;
}

export function createSealer(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error("master key must be 32 bytes");
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv, cipher.getAuthTag(), body].map((p) => (typeof p === "string" ? p : p.toString("base64url"))).join(".");
    },
    open(sealed) {
      const [version, iv, tag, body] = sealed.split(".");
      if (version !== "v1" || iv === undefined || tag === undefined || body === undefined) throw new Error("not a sealed value");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
    },
    deriveKey(purpose) {
      return createHmac("sha256", key).update(purpose).digest();
    },
  };
}

/** The configured MASTER_KEY, or the one kept in DATA_DIR/master.key, generated on first start. */
export function loadMasterKey(configured: Buffer | null, dataDir: string, log: Logger): Buffer {
  if (configured) return configured;
  const file = join(dataDir, "master.key");
  if (existsSync(file)) {
    const key = parseMasterKey(readFileSync(file, "utf8"));
    if (!key) throw new Error(`${file} does not hold a 32-byte hex key; fix it or set MASTER_KEY`);
    keepOwnerOnly(file, log);
    return key;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString("hex") + "\n", { mode: 0o600 });
  log.warn(`MASTER_KEY is not set: generated one into ${file}. Back it up with the data, or set MASTER_KEY (every replica needs the same one).`);
  return key;
}

/** A key file written by an older release, or copied in by hand, may be readable by others: take that away. */
function keepOwnerOnly(file: string, log: Logger): void {
  if ((statSync(file).mode & 0o077) === 0) return;
  try {
    chmodSync(file, 0o600);
  } catch {
    log.warn(`${file} is readable by other users and could not be changed to 0600: fix its owner or mode`);
  }
}

export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

