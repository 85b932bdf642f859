import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let owner: { organizationId: string; key: string };
beforeAll(async () => {
  app = await startTestApp();
  owner = await app.newOrg();
});
afterAll(() => app.stop());

describe("secret API keys", () => {
  it("creates a key whose secret is shown once and stored only as a hash", async () => {
    const res = await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "CI", scopes: ["agents:read", "agents:write"] } });
    expect(res.status).toBe(201);
    const created = res.body.data;
    expect(created.secret).toMatch(/^flowyte_sk_live_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: "CI", scopes: ["agents:read", "agents:write"], status: "active", last4: created.secret.slice(-4), revokedAt: null });

    const got = await app.api("GET", `/api/v1/api-keys/${created.id}`, { key: owner.key });
    expect(got.body.data.secret).toBeUndefined();
    const list = await app.api("GET", "/api/v1/api-keys", { key: owner.key });
    expect(JSON.stringify(list.body)).not.toContain(created.secret);
    expect(list.body.data.map((k: { id: string }) => k.id)).toContain(created.id);

    const rows = JSON.stringify(await app.query(`select * from api_keys where id = '${created.id}'`));
    expect(rows).not.toContain(created.secret);
    expect(rows).toContain(createHash("sha256").update(created.secret).digest("hex"));

    const works = await app.api("POST", "/api/v1/agents", { key: created.secret, body: { name: "Made by CI" } });
    expect(works.status).toBe(201);
    expect((await app.api("GET", "/api/v1/api-keys", { key: created.secret })).status).toBe(403);
  });

  it("revokes a key immediately", async () => {
    const { secret, id } = (await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "Temp", scopes: ["agents:read"] } })).body.data;
    expect((await app.api("GET", "/api/v1/agents", { key: secret })).status).toBe(200);
    const revoked = await app.api("DELETE", `/api/v1/api-keys/${id}`, { key: owner.key });
    expect(revoked.body.data.status).toBe("revoked");
    const after = await app.api("GET", "/api/v1/agents", { key: secret });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe("invalid_api_key");
    expect((await app.api("POST", `/api/v1/api-keys/${id}/rotate`, { key: owner.key })).status).toBe(409);
  });

  it("rotates a key: new secret works, old one stops, id and scopes stay", async () => {
    const first = (await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "Rotating", scopes: ["agents:read"] } })).body.data;
    expect((await app.api("GET", "/api/v1/agents", { key: first.secret })).status).toBe(200);
    const rotated = (await app.api("POST", `/api/v1/api-keys/${first.id}/rotate`, { key: owner.key })).body.data;
    expect(rotated).toMatchObject({ id: first.id, scopes: ["agents:read"], status: "active" });
    expect(rotated.secret).not.toBe(first.secret);
    expect(rotated.rotatedAt).not.toBeNull();
    expect((await app.api("GET", "/api/v1/agents", { key: first.secret })).status).toBe(401);
    expect((await app.api("GET", "/api/v1/agents", { key: rotated.secret })).status).toBe(200);
  });

  it("refuses to grant scopes the calling key lacks, and chat:public or unknown scopes", async () => {
    const keysOnly = await app.keyWith(owner.organizationId, ["keys:write", "agents:read"]);
    const escalate = await app.api("POST", "/api/v1/api-keys", { key: keysOnly, body: { name: "x", scopes: ["agents:read", "agents:write"] } });
    expect(escalate.status).toBe(403);
    expect(escalate.body.code).toBe("scope_escalation");
    expect(escalate.body.errors).toEqual([{ field: "scopes", message: "agents:write is not held by the calling key" }]);
    for (const scopes of [["chat:public"], ["agents:everything"], []]) {
      const res = await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "x", scopes } });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].field).toMatch(/^scopes/);
    }
  });

  it("refuses rotating or revoking a key that holds scopes the caller lacks, with 403 scope_escalation", async () => {
    const keysOnly = await app.keyWith(owner.organizationId, ["keys:write"]);
    const admin = (await app.api("GET", "/api/v1/api-keys?limit=100", { key: owner.key })).body.data.find((k: { name: string }) => k.name === "Owner key");
    expect(admin.scopes.length).toBeGreaterThan(1);

    const rotate = await app.api("POST", `/api/v1/api-keys/${admin.id}/rotate`, { key: keysOnly });
    expect(rotate.status).toBe(403);
    expect(rotate.body.code).toBe("scope_escalation");
    expect(rotate.body.secret).toBeUndefined();
    expect(rotate.body.errors).toContainEqual({ field: "scopes", message: "agents:write is not held by the calling key" });
    const revoke = await app.api("DELETE", `/api/v1/api-keys/${admin.id}`, { key: keysOnly });
    expect(revoke.status).toBe(403);
    expect(revoke.body.code).toBe("scope_escalation");

    // Nothing changed: the owner key still works and was neither rotated nor revoked.
    const after = (await app.api("GET", `/api/v1/api-keys/${admin.id}`, { key: owner.key })).body.data;
    expect(after).toMatchObject({ status: "active", rotatedAt: null, revokedAt: null });
    expect((await app.api("GET", "/api/v1/agents", { key: owner.key })).status).toBe(200);

    // A key with one extra scope is refused too; keys within the caller's scopes can be rotated and revoked.
    const wider = (await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "wider", scopes: ["keys:write", "agents:read"] } })).body.data;
    expect((await app.api("POST", `/api/v1/api-keys/${wider.id}/rotate`, { key: keysOnly })).status).toBe(403);
    const peer = (await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "peer", scopes: ["keys:write"] } })).body.data;
    const rotated = await app.api("POST", `/api/v1/api-keys/${peer.id}/rotate`, { key: keysOnly });
    expect(rotated.status).toBe(200);
    expect(rotated.body.data.scopes).toEqual(["keys:write"]);
    expect((await app.api("DELETE", `/api/v1/api-keys/${peer.id}`, { key: keysOnly })).body.data.status).toBe("revoked");
  });

  it("replays a retried rotation with the same Idempotency-Key instead of rotating again", async () => {
    const key = (await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "retried", scopes: ["agents:read"] } })).body.data;
    const headers = { "idempotency-key": `rotate-${key.id}` };
    const first = await app.api("POST", `/api/v1/api-keys/${key.id}/rotate`, { key: owner.key, headers });
    const retry = await app.api("POST", `/api/v1/api-keys/${key.id}/rotate`, { key: owner.key, headers });
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.body.data.secret).toBe(first.body.data.secret);
    // The replayed secret is the one that works: the key was rotated once.
    expect((await app.api("GET", "/api/v1/agents", { key: retry.body.data.secret })).status).toBe(200);
    const [row] = await app.query<{ secret_hash: string }>(`select secret_hash from api_keys where id = '${key.id}'`);
    expect(row!.secret_hash).toBe(createHash("sha256").update(first.body.data.secret).digest("hex"));
    // Another key is another rotation.
    const again = await app.api("POST", `/api/v1/api-keys/${key.id}/rotate`, { key: owner.key, headers: { "idempotency-key": `rotate-${key.id}-2` } });
    expect(again.body.data.secret).not.toBe(first.body.data.secret);
    expect((await app.api("GET", "/api/v1/agents", { key: first.body.data.secret })).status).toBe(401);
  });

  it("keeps keys inside their organization", async () => {
    const other = await app.newOrg();
    const mine = (await app.api("POST", "/api/v1/api-keys", { key: owner.key, body: { name: "Mine", scopes: ["agents:read"] } })).body.data;
    expect((await app.api("GET", `/api/v1/api-keys/${mine.id}`, { key: other.key })).status).toBe(404);
    expect((await app.api("DELETE", `/api/v1/api-keys/${mine.id}`, { key: other.key })).status).toBe(404);
    expect((await app.api("POST", `/api/v1/api-keys/${mine.id}/rotate`, { key: other.key })).status).toBe(404);
    const theirs = await app.api("GET", "/api/v1/api-keys", { key: other.key });
    expect(theirs.body.data.map((k: { id: string }) => k.id)).not.toContain(mine.id);
  });
});

describe("validation messages", () => {
  it("says what is wrong with a list, in words", async () => {
    const { key } = await app.newOrg();
    const empty = await app.api("POST", "/api/v1/api-keys", { key, body: { name: "x", scopes: [] } });
    expect(empty.body.errors).toEqual([{ field: "scopes", message: "must not be empty" }]);
    const repeated = await app.api("POST", "/api/v1/api-keys", { key, body: { name: "x", scopes: ["agents:read", "agents:read"] } });
    expect(repeated.body.errors).toEqual([{ field: "scopes", message: "must not repeat items" }]);
  });
});
