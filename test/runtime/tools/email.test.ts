import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { createSealer } from "../../../src/platform/crypto.ts";
import { offlineGeocoder } from "../../../src/platform/geo/index.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { createSkillRunner } from "../../../src/runtime/tools/index.ts";
import { callContext, compiledSkill } from "../../support/skills-compiled.ts";
import { startSmtpStandIn, type SmtpStandIn } from "../../support/smtp-stand-in.ts";

const deps = { sealer: createSealer(randomBytes(32)), geocoder: offlineGeocoder(), log: createLogger("error", () => {}) };
let smtp: SmtpStandIn;
beforeAll(async () => {
  smtp = await startSmtpStandIn();
});
afterAll(() => smtp.stop());

const emailSkill = (executionConfig: Record<string, unknown>) => compiledSkill("email", executionConfig);

describe("email executor through the SMTP stand-in (RFC 5321)", () => {
  it("sends to the templated recipients with the templated subject, from the installation's sender", async () => {
    const run = createSkillRunner({ ...deps, config: { egressAllowlist: [], smtp: { url: smtp.url, from: "no-reply@desk.example" } } });
    const outcome = await run(
      emailSkill({ to: "team@example.com, {customer_email}", subject: "Callback request from {caller_name}", from_name: "Front desk", intro: "A caller asked for a callback.", reply_to: "{customer_email}" }),
      { customer_email: "ada@example.org", preferred_time: "after 5pm" },
      callContext({ variables: { caller_name: "Ada Lovelace" } }),
    );
    expect(outcome).toEqual({ kind: "result", data: { sent: true, messageId: expect.any(String), to: ["team@example.com", "ada@example.org"] } });
    const mail = smtp.received.at(-1)!;
    expect(mail.mailFrom).toBe("no-reply@desk.example");
    expect(mail.rcptTo).toEqual(["team@example.com", "ada@example.org"]);
    expect(mail.headers.subject).toBe("Callback request from Ada Lovelace");
    expect(mail.headers.from).toMatch(/^"?Front desk"? <no-reply@desk.example>$/);
    expect(mail.headers["reply-to"]).toBe("ada@example.org");
    expect(mail.body.trim()).toBe("A caller asked for a callback.\n\ncustomer_email: ada@example.org\npreferred_time: after 5pm");
  });

  it("keeps caller-supplied values from adding header lines", async () => {
    const run = createSkillRunner({ ...deps, config: { egressAllowlist: [], smtp: { url: smtp.url, from: "no-reply@desk.example" } } });
    await run(emailSkill({ to: "team@example.com", subject: "About {topic}" }), { topic: "refund\r\nBcc: attacker@evil.example" }, callContext());
    const mail = smtp.received.at(-1)!;
    expect(mail.rcptTo).toEqual(["team@example.com"]);
    expect(mail.headers.bcc).toBeUndefined();
  });

  it("refuses recipients that are not email addresses", async () => {
    const run = createSkillRunner({ ...deps, config: { egressAllowlist: [], smtp: { url: smtp.url, from: "no-reply@desk.example" } } });
    expect(await run(emailSkill({ to: "{customer_email}", subject: "Hi" }), { customer_email: "not an address" }, callContext())).toMatchObject({ kind: "error", code: "invalid_recipient" });
    expect(await run(emailSkill({ to: "{customer_email}", subject: "Hi" }), {}, callContext())).toMatchObject({ kind: "error", code: "invalid_recipient" });
  });

  it("answers email_failed when the server refuses the message", async () => {
    const run = createSkillRunner({ ...deps, config: { egressAllowlist: [], smtp: { url: smtp.url, from: "no-reply@desk.example" } } });
    smtp.refuseWith("mailbox unavailable");
    try {
      expect(await run(emailSkill({ to: "team@example.com", subject: "Hi" }), {}, callContext())).toMatchObject({ kind: "error", code: "email_failed", message: expect.stringContaining("mailbox unavailable") });
    } finally {
      smtp.refuseWith(null);
    }
  });

  it("refuses to send when a template names a value the skill's dataEgressMap does not declare", async () => {
    const run = createSkillRunner({ ...deps, config: { egressAllowlist: [], smtp: { url: smtp.url, from: "no-reply@desk.example" } } });
    const before = smtp.received.length;
    const outcome = await run(
      emailSkill({ to: "team@example.com", subject: "Callback for {caller_number}" }),
      { preferred_time: "after 5pm" },
      callContext({ variables: { caller_number: "+14155550100" }, dataEgress: ["preferred_time"] }),
    );
    expect(outcome).toMatchObject({ kind: "error", code: "data_egress_refused", fields: ["caller_number"] });
    expect(smtp.received.length).toBe(before);
  });

  it("answers email_not_configured without SMTP_URL", async () => {
    const run = createSkillRunner({ ...deps, config: { egressAllowlist: [], smtp: null } });
    expect(await run(emailSkill({ to: "team@example.com", subject: "Hi" }), {}, callContext())).toMatchObject({ kind: "error", code: "email_not_configured" });
  });
});
