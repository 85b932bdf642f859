// email: send what the agent collected to the operator's recipients through the appliance's SMTP server.
// The sender address is always SMTP_FROM; a skill may only choose the display name.
import { Type, type Static } from "@sinclair/typebox";
import nodemailer, { type Transporter } from "nodemailer";
import type { Config } from "../../config.ts";
import { egressRefused, failure } from "./outcomes.ts";
import { asText, egressLookup, fillTemplate, lookupIn, singleLine } from "./templates.ts";
import type { RunSkill } from "./types.ts";

export const EmailConfig = Type.Object({
  to: Type.String({ minLength: 1, maxLength: 1000, description: "Comma-separated recipients; {param} templates allowed, e.g. \"team@example.com\" or \"{customer_email}\"" }),
  subject: Type.String({ minLength: 1, maxLength: 300, description: "{param} templates allowed" }),
  from_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Display name of the sender; the address is always the installation's SMTP_FROM" })),
  intro: Type.Optional(Type.String({ maxLength: 2000, description: "First line of the message, before the collected values" })),
  reply_to: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: "{param} templates allowed" })),
});
export type EmailConfig = Static<typeof EmailConfig>;

const ADDRESS_PART = /^[^\s@,;<>"]+$/;

/** local@domain, with a dot inside the domain. Split at the @ first: one pattern would try every dot of a long domain. */
function isAddress(text: string): boolean {
  const at = text.indexOf("@");
  const domain = text.slice(at + 1);
  return at > 0 && ADDRESS_PART.test(text.slice(0, at)) && ADDRESS_PART.test(domain) && domain.slice(1, -1).includes(".");
}

export function emailExecutor(deps: { smtp: Config["smtp"] }): RunSkill {
  let transport: Transporter | null = null;
  return async (skill, args, ctx) => {
    if (!deps.smtp) return failure("email_not_configured", "this installation has no SMTP server; set SMTP_URL to send email");
    const config = skill.executionConfig as EmailConfig;
    const { lookup, refused } = egressLookup(lookupIn(args, ctx.variables), ctx.dataEgress);

    const to = addresses(fillTemplate(config.to, lookup));
    const replyTo = config.reply_to === undefined ? undefined : addresses(fillTemplate(config.reply_to, lookup));
    const subject = singleLine(fillTemplate(config.subject, lookup));
    if (refused.length) return egressRefused(refused);
    if (to.length === 0 || !to.every((a) => isAddress(a))) return failure("invalid_recipient", `"${to.join(", ")}" is not a list of email addresses`);
    if (replyTo && !replyTo.every((a) => isAddress(a))) return failure("invalid_recipient", `reply_to "${replyTo.join(", ")}" is not an email address`);

    const lines = Object.entries(args).map(([key, value]) => `${key}: ${asText(value)}`);
    const text = [...(config.intro ? [config.intro, ""] : []), ...lines].join("\n");

    transport ??= nodemailer.createTransport({ url: deps.smtp.url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
    const sending = transport.sendMail({
      from: { name: config.from_name ?? "", address: deps.smtp.from },
      to,
      ...(replyTo?.length ? { replyTo } : {}),
      subject,
      text,
    });
    try {
      const info = await untilAborted(sending, ctx.signal);
      return { kind: "result", data: { sent: true, messageId: info.messageId, to } };
    } catch (err) {
      if (ctx.signal.aborted) return failure("cancelled", "the conversation stopped waiting for the email");
      return failure("email_failed", `the SMTP server refused the message: ${(err as Error).message}`);
    }
  };
}

const addresses = (list: string) =>
  singleLine(list)
    .split(/[,;]/)
    .map((a) => a.trim())
    .filter(Boolean);

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
