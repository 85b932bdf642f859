// The logger is the one way out for log lines: whatever error reaches it, query parameters and the card numbers and
// e-mail addresses callers type never leave in a line.
import { describe, expect, it } from "bun:test";
import { DrizzleQueryError } from "drizzle-orm/errors";
import { createLogger } from "../../src/platform/log.ts";

const CARD = "4111111111111111";
const EMAIL = "ann.payer@example.com";

function capture() {
  const lines: string[] = [];
  return { log: createLogger("debug", (l) => lines.push(l)), lines };
}

describe("log lines", () => {
  it("drop a failed query's parameters, from its message, its stack and its fields, keeping the query and the database's reason", () => {
    const { log, lines } = capture();
    const driver = Object.assign(new Error('duplicate key value violates unique constraint "x_pkey"'), { code: "23505", parameters: [CARD, EMAIL] });
    log.error("unhandled error", { error: new DrizzleQueryError("insert into payments (card, email) values ($1, $2)", [CARD, EMAIL], driver) });
    const [line] = lines;
    expect(line).toContain("Failed query: insert into payments (card, email) values ($1, $2)");
    expect(line).toContain("duplicate key value violates unique constraint");
    expect(line).not.toContain("params");
    expect(line).not.toContain("parameters");
    expect(line).not.toContain(CARD);
    expect(line).not.toContain(EMAIL);
  });

  it("redact card numbers (spaced or not) and e-mail addresses a database error or a message quotes, wherever they sit", () => {
    const { log, lines } = capture();
    log.warn(`turn failed for ${EMAIL}`, { error: new Error(`invalid input syntax for type bigint: "4111 1111 1111 1111"`), note: `card ${CARD}`, nested: { deeper: [EMAIL] } });
    expect(lines[0]).not.toContain(EMAIL);
    expect(lines[0]).not.toContain(CARD);
    expect(lines[0]).not.toContain("4111 1111 1111 1111");
    expect(lines[0]).toContain('invalid input syntax for type bigint: \\"[card number]\\"');
    expect(lines[0]).toContain("turn failed for [email]");
  });

  it("leave ids, timestamps and digit runs that are no card number as they are", () => {
    const { log, lines } = capture();
    log.info("metered", { at: 1733561234567, atText: "1733561234567", id: "conv_01JEK5ABCDEF0123456789ABCD", order: "1234567890123" });
    expect(lines[0]).toContain('"at":1733561234567');
    expect(lines[0]).toContain('"id":"conv_01JEK5ABCDEF0123456789ABCD"');
    expect(lines[0]).toContain('"order":"1234567890123"');
  });
});
