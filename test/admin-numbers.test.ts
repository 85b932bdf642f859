// `bun run admin wallet credit`: the operator adds prepaid credit, which the organization's keys then see.
import { describe, expect, it } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/platform/log.ts";
import { startServer } from "../src/server.ts";
import { adminCli } from "./support/admin-cli.ts";

const { dataDir, admin } = adminCli("flowyte-admin-wallet-");

describe("bun run admin wallet credit", () => {
  it("adds credit that the organization's wallet shows", async () => {
    const made = await admin("org", "create", "--name", "Acme Plumbing");
    const orgId = /organization (org_\w+)/.exec(made.out)![1]!;
    const key = /owner key \(shown once\): (flowyte_sk_live_\S+)/.exec(made.out)![1]!;

    const first = await admin("wallet", "credit", "--org", orgId, "--usd", "25");
    expect(first).toMatchObject({ code: 0, out: `credited $25.00 to ${orgId}; balance $25.00\n` });
    expect((await admin("wallet", "credit", "--org", orgId, "--usd", "0.50", "--note", "goodwill")).out).toContain("balance $25.50");

    const server = await startServer(loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "error" }), createLogger("error"));
    try {
      const res = await fetch(`${server.url}/api/v1/billing/wallet`, { headers: { authorization: `Bearer ${key}` } });
      expect((await res.json()).data.balanceUsd).toBe(25.5);
    } finally {
      await server.stop();
    }
  });

  it("refuses a missing or bad amount and an unknown organization", async () => {
    expect((await admin("wallet", "credit", "--org", "org_x")).err).toContain("--usd is required");
    expect((await admin("wallet", "credit", "--usd", "5")).err).toContain("--org is required");
    for (const usd of ["-5", "0", "1.234", "ten", "2000000"]) {
      const res = await admin("wallet", "credit", "--org", "org_x", `--usd=${usd}`);
      expect({ usd, code: res.code, err: res.err }).toEqual({ usd, code: 2, err: expect.stringContaining("--usd must be an amount") });
    }
    expect((await admin("wallet", "credit", "--org", "org_nope", "--usd", "5")).err).toContain("no organization org_nope");
    expect((await admin("wallet", "debit")).err).toContain("wallet credit --org");
  });
});
