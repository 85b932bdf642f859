// TLS modes against a TLS-speaking Postgres: a local proxy answers PostgreSQL's SSLRequest, terminates TLS with a
// certificate for db.test from a throwaway CA, and forwards to the real server. The plugin connects to the
// address the host check answers and verifies the certificate against the configured name.
// (MariaDB negotiates TLS inside its handshake and the local server has none, so only Postgres is covered here.)
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TLSSocket } from "node:tls";
import type { PluginContext } from "../../../src/api/integrations/contract.ts";
import { context, type Fixture, fixture } from "./support.ts";

const SSL_REQUEST = 80877103;

function makeCertificates(dir: string): { ca: string; key: string; cert: string } {
  const run = (...args: string[]) => {
    const result = Bun.spawnSync(["openssl", ...args], { cwd: dir, stderr: "pipe" });
    if (result.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr.toString()}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run("req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=flowyte test CA", "-days", "2");
  run("req", ...ec, "-keyout", "db.key", "-out", "db.csr", "-subj", "/CN=db.test");
  writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:db.test\n");
  run("x509", "-req", "-in", "db.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "db.pem", "-days", "2", "-extfile", "san.ext");
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return { ca: read("ca.pem"), key: read("db.key"), cert: read("db.pem") };
}

describe("postgres TLS modes", () => {
  let f: Fixture;
  let proxy: Server;
  let port: string;
  let dir: string;
  let pki: { ca: string; key: string; cert: string };

  beforeAll(async () => {
    f = await fixture("postgres");
    dir = mkdtempSync(join(tmpdir(), "flowyte-sql-tls-"));
    pki = makeCertificates(dir);
    const target = f.credentials();
    proxy = createServer((client) => {
      client.on("error", () => {});
      client.once("data", (first: Buffer) => {
        if (first.length !== 8 || first.readUInt32BE(4) !== SSL_REQUEST) return void client.destroy();
        client.write("S");
        const secure = new TLSSocket(client, { isServer: true, key: pki.key, cert: pki.cert });
        const upstream = connect({ host: target.host, port: Number(target.port) });
        const close = () => {
          secure.destroy();
          upstream.destroy();
        };
        for (const socket of [secure, upstream]) socket.on("error", close);
        secure.pipe(upstream).pipe(secure);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    port = String((proxy.address() as { port: number }).port);
  });
  afterAll(async () => {
    proxy?.close();
    rmSync(dir, { recursive: true, force: true });
    await f?.cleanup();
  });

  const ctx = (host: string, sslmode: string, ca?: string): PluginContext => {
    const c = context({ ...f.credentials(), host, port, sslmode, ...(ca ? { ca_pem: ca } : {}) }, { plaintext: false });
    c.checkHost = async () => "127.0.0.1";
    return c;
  };
  const firstTwo = async (c: PluginContext) => (await f.plugin.test!(c)).slice(0, 2).map((check) => [check.name, check.ok, check.detail]);

  it("require: encrypts without checking the certificate", async () => {
    const [reach, auth] = await firstTwo(ctx("db.test", "require"));
    expect(reach).toEqual(["reachability", true, `db.test:${port} reachable; TLS (require)`]);
    expect(auth![1]).toBe(true);
  });

  it("verify-full: accepts the certificate from the given CA for the configured name", async () => {
    const c = ctx("db.test", "verify-full", pki.ca);
    expect((await firstTwo(c)).map(([, ok]) => ok)).toEqual([true, true]);
    expect((await f.plugin.execute({ operation: "query", sql: "SELECT 1 AS one" }, {}, c)).rows).toEqual([{ one: 1 }]);
    await f.plugin.release!(c.connectionId);
  });

  it("verify-full: refuses a certificate no trusted CA signed", async () => {
    const [reach] = await firstTwo(ctx("db.test", "verify-full"));
    expect(reach![1]).toBe(false);
    expect(reach![2]).toMatch(/TLS \(verify-full\) failed/);
  });

  it("verify-full refuses a certificate for another name; verify-ca accepts it", async () => {
    const [full] = await firstTwo(ctx("other.test", "verify-full", pki.ca));
    expect(full![1]).toBe(false);
    expect(full![2]).toMatch(/TLS/);
    expect((await firstTwo(ctx("other.test", "verify-ca", pki.ca))).map(([, ok]) => ok)).toEqual([true, true]);
  });
});
