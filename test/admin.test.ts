// The operator CLI (`bun run admin …`), run as a separate process the way an operator runs it.
import { describe, expect, it } from "bun:test";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/platform/log.ts";
import { startServer } from "../src/server.ts";
import { adminCli } from "./support/admin-cli.ts";

const { dataDir, admin } = adminCli("flowyte-admin-");

describe("bun run admin", () => {
  it("creates organizations whose owner key works against the server", async () => {
    const made = await admin("org", "create", "--name", "Acme Heating");
    expect(made.code).toBe(0);
    const orgId = /organization (org_\w+)/.exec(made.out)![1]!;
    const key = /owner key \(shown once\): (flowyte_sk_live_\S+)/.exec(made.out)![1]!;

    const minted = await admin("key", "create", "--org", orgId, "--name", "reports", "--scopes", "agents:read,audit:read");
    expect(minted.code).toBe(0);
    const narrow = /(flowyte_sk_live_\S+)/.exec(minted.out)![1]!;
    expect((await admin("org", "list")).out).toContain(`${orgId}\tAcme Heating`);

    const server = await startServer(loadConfig({ PORT: "0", HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "error" }), createLogger("error"));
    try {
      const get = (k: string, path: string) => fetch(server.url + path, { headers: { authorization: `Bearer ${k}` } });
      const account = await (await get(key, "/api/v1/meta/account")).json();
      expect(account.data).toMatchObject({ organizationId: orgId, name: "Acme Heating" });
      expect((await get(narrow, "/api/v1/agents")).status).toBe(200);
      expect((await get(narrow, "/api/v1/api-keys")).status).toBe(403);

      // The embedded store is single-process: the CLI refuses while the server holds it.
      const locked = await admin("org", "list");
      expect(locked.code).toBe(2);
      expect(locked.err).toContain(`in use by process ${process.pid}`);
    } finally {
      await server.stop();
    }
    expect((await admin("org", "list")).code).toBe(0);
  });

  it("explains its usage and refuses bad input", async () => {
    const usage = await admin("org", "delete");
    expect(usage.code).toBe(2);
    expect(usage.err).toContain("usage:");
    expect((await admin("org", "create")).err).toContain("--name is required");
    expect((await admin("key", "create", "--org", "org_nope", "--name", "x")).err).toContain("no organization org_nope");
    expect((await admin("key", "create", "--org", "org_nope", "--name", "x", "--scopes", "chat:public")).err).toContain("unknown scopes: chat:public");
  });
});
