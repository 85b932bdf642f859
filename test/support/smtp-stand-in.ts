// SMTP stand-in (RFC 5321): a real SMTP server (the `smtp-server` package) on 127.0.0.1 that accepts every
// message without TLS or authentication and keeps it for the test to read: envelope, headers (RFC 5322,
// unfolded) and the text body.
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  mailFrom: string;
  rcptTo: string[];
  headers: Record<string, string>;
  body: string;
}

export interface SmtpStandIn {
  url: string;
  received: ReceivedMail[];
  /** Refuse the next messages with this SMTP reply (e.g. "550 mailbox unavailable"), or accept again with null. */
  refuseWith(message: string | null): void;
  stop(): Promise<void>;
}

export async function startSmtpStandIn(): Promise<SmtpStandIn> {
  const received: ReceivedMail[] = [];
  let refusal: string | null = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        if (refusal) return callback(Object.assign(new Error(refusal), { responseCode: 550 }));
        const raw = Buffer.concat(chunks).toString("utf8");
        const split = raw.indexOf("\r\n\r\n");
        const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
        const headers = Object.fromEntries(
          head.split("\r\n").map((line) => {
            const colon = line.indexOf(":");
            return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
          }),
        );
        received.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          headers,
          body: raw.slice(split + 4).replace(/\r\n/g, "\n"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuseWith(message) {
      refusal = message;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
