// Compiled operations are signed when made and checked before they run: what a hand edit changes is caught, what
// storage does to a document (reordered keys) is not.
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { createOperationSigner } from "../../../src/api/integrations/signing.ts";
import { createSealer } from "../../../src/platform/crypto.ts";

const signer = createOperationSigner(createSealer(randomBytes(32)));
const compiled = { operation: "appointments.select", statement: 'SELECT a."starts_at" FROM "appointments" a WHERE a."phone" = $1 LIMIT 1', params: ["caller_phone"], write: false, touches: ["appointments.phone", "appointments.starts_at"] };

describe("operation signatures", () => {
  it("holds for the stored config, whatever order its keys come back in, beside where the skill came from", () => {
    const stored = { integration: "postgres", source: "binding", ...signer.sign("postgres", compiled) };
    const reordered = Object.fromEntries(Object.entries(stored).reverse());
    expect(signer.verify("postgres", stored)).toBe(true);
    expect(signer.verify("postgres", reordered)).toBe(true);
    expect(signer.verify("postgres", { ...stored, source: "action", action: "lookup" })).toBe(true);
  });

  it("fails for an edited statement, parameter, scope record or kind, and for an unsigned config", () => {
    const stored = { integration: "postgres", source: "binding", ...signer.sign("postgres", compiled) };
    expect(signer.verify("postgres", { ...stored, statement: 'SELECT * FROM "customers"' })).toBe(false);
    expect(signer.verify("postgres", { ...stored, params: ["caller_name"] })).toBe(false);
    expect(signer.verify("postgres", { ...stored, touches: ["appointments.phone"] })).toBe(false);
    expect(signer.verify("postgres", { ...stored, write: true })).toBe(false);
    expect(signer.verify("mysql", stored)).toBe(false);
    const { signature: _, ...unsigned } = stored;
    expect(signer.verify("postgres", unsigned)).toBe(false);
    expect(signer.verify("postgres", { ...stored, signature: "forged" })).toBe(false);
  });

  it("differs between installations: another master key does not accept it", () => {
    const other = createOperationSigner(createSealer(randomBytes(32)));
    expect(other.verify("postgres", signer.sign("postgres", compiled))).toBe(false);
  });
});
