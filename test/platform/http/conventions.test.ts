import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
});
afterAll(() => app.stop());

const isProblem = (res: { status: number; headers: Headers; body: any }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.body).toMatchObject({ type: `https://docs.flowyte.com/errors/${code}`, status, code });
  for (const field of ["title", "detail", "instance"]) expect(typeof res.body[field]).toBe("string");
  expect(res.body.instance.startsWith("/")).toBe(true);
};

describe("envelope and problems", () => {
  it("wraps successes as { success, data }", async () => {
    const res = await app.api("GET", "/api/v1/meta/languages", { key });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(Object.keys(res.body).sort()).toEqual(["data", "success"]);
    expect(res.body.success).toBe(true);
  });

  it("answers 401 problem+json without a key, with a malformed header, and with an unknown key", async () => {
    const none = await app.api("GET", "/api/v1/agents", { key: null });
    isProblem(none, 401, "unauthorized");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    isProblem(await app.api("GET", "/api/v1/agents", { key: null, headers: { authorization: "Basic abc" } }), 401, "unauthorized");
    isProblem(await app.api("GET", "/api/v1/agents", { key: "flowyte_sk_live_notarealkeynotarealkeynotarealkey000" }), 401, "invalid_api_key");
  });

  it("answers 403 insufficient_scope naming the scope a route needs", async () => {
    const { organizationId } = await app.newOrg();
    const readOnly = await app.keyWith(organizationId, ["agents:read"]);
    const res = await app.api("POST", "/api/v1/agents", { key: readOnly, body: { name: "x" } });
    isProblem(res, 403, "insufficient_scope");
    expect(res.body.detail).toContain("agents:write");
    expect(res.body.requiredScope).toBe("agents:write");
  });

  it("checks the key before the body: no key with a bad body is still 401", async () => {
    isProblem(await app.api("POST", "/api/v1/agents", { key: null, body: { name: 5 } }), 401, "unauthorized");
  });

  it("gives every response a request id, echoing a sane incoming one", async () => {
    const a = await app.api("GET", "/health", { key: null });
    expect(a.headers.get("x-request-id")).toMatch(/^req_/);
    const b = await app.api("GET", "/api/v1/agents/nope", { key, headers: { "x-request-id": "trace-123" } });
    expect(b.headers.get("x-request-id")).toBe("trace-123");
    expect(b.body.requestId).toBe("trace-123");
  });

  it("refuses malformed JSON, non-JSON bodies and unknown routes with problems", async () => {
    const bad = await app.api("POST", "/api/v1/agents", { key, raw: '{"name": ', headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toBe("application/problem+json");
    expect(bad.body.errors).toEqual([{ field: "body", message: "is not valid JSON" }]);
    isProblem(await app.api("POST", "/api/v1/agents", { key, raw: "name=x", headers: { "content-type": "text/plain" } }), 415, "unsupported_media_type");
    isProblem(await app.api("GET", "/api/v1/no-such-thing", { key }), 404, "route_not_found");
  });

  it("refuses a body over the limit with 413 before reading it", async () => {
    const res = await app.api("POST", "/api/v1/agents", { key, body: { name: "x".repeat(2 * 1024 * 1024) } });
    isProblem(res, 413, "payload_too_large");
  });

  it("refuses a chunked body (no Content-Length) over the limit with the same 413", async () => {
    const org = await app.newOrg();
    const json = new TextEncoder().encode(JSON.stringify({ name: "x".repeat(3 * 1024 * 1024) }));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < json.length; at += 64 * 1024) controller.enqueue(json.subarray(at, at + 64 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${app.url}/api/v1/agents`, {
      method: "POST",
      headers: { authorization: `Bearer ${org.key}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    const parsed = { status: res.status, headers: res.headers, body: await res.json() };
    isProblem(parsed, 413, "payload_too_large");
    expect((await app.api("GET", "/api/v1/agents", { key: org.key })).body.data).toEqual([]);
  });

  it("answers 413 while a chunked body is still arriving, without waiting for the rest", async () => {
    const { key: orgKey } = await app.newOrg();
    const { port, hostname } = new URL(app.url);
    const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`;
    const answer = await new Promise<string>((resolve, reject) => {
      let received = "";
      const timer = setTimeout(() => reject(new Error(`no answer while the body was still open; got ${JSON.stringify(received.slice(0, 200))}`)), 10_000);
      Bun.connect({
        hostname,
        port: Number(port),
        socket: {
          open(socket) {
            socket.write(
              `POST /api/v1/agents HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${orgKey}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
            );
            socket.write(chunk('{"name":"'));
            // 1.5 MiB of the name, then nothing more: the last chunk never comes.
            for (let i = 0; i < 24; i++) socket.write(chunk("y".repeat(64 * 1024)));
          },
          data(socket, data) {
            received += data.toString();
            if (/\r\n\r\n[\s\S]*\}/.test(received)) {
              clearTimeout(timer);
              socket.end();
              resolve(received);
            }
          },
          error(_socket, err) {
            clearTimeout(timer);
            reject(err);
          },
        },
      }).catch(reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer).toContain('"code":"payload_too_large"');
  });

  it("still reads a chunked body under the limit", async () => {
    const org = await app.newOrg();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of ['{"name":', '"Chunked"', "}"]) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    const res = await fetch(`${app.url}/api/v1/agents`, { method: "POST", headers: { authorization: `Bearer ${org.key}`, "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
    expect(res.status).toBe(201);
    expect((await res.json()).data.name).toBe("Chunked");
  });
});

describe("rate limiting", () => {
  it("answers 429 with Retry-After once a key spends its budget, per key", async () => {
    const limited = await startTestApp({ RATE_LIMIT_PER_MINUTE: "5" });
    try {
      const org = await limited.newOrg();
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof limited.api>> | undefined;
      for (let i = 0; i < 7; i++) {
        last = await limited.api("GET", "/api/v1/agents", { key: org.key });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      isProblem(last!, 429, "rate_limited");
      expect(Number(last!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      // Another key has its own budget.
      const other = await limited.newOrg();
      expect((await limited.api("GET", "/api/v1/agents", { key: other.key })).headers.get("ratelimit-remaining")).toBe("4");
    } finally {
      await limited.stop();
    }
  });
});

describe("idempotency", () => {
  it("replays the first result for a retried POST and acts only once", async () => {
    const org = await app.newOrg();
    const headers = { "idempotency-key": "create-agent-1" };
    const first = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Once" }, headers });
    const again = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Once" }, headers });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body).toEqual(first.body);
    const list = await app.api("GET", "/api/v1/agents", { key: org.key });
    expect(list.body.data.map((a: { name: string }) => a.name)).toEqual(["Once"]);
  });

  it("refuses the same key with a different body, and scopes keys per organization", async () => {
    const org = await app.newOrg();
    const headers = { "idempotency-key": "shared-key" };
    await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "A" }, headers });
    isProblem(await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "B" }, headers }), 422, "idempotency_key_reused");
    const other = await app.newOrg();
    const theirs = await app.api("POST", "/api/v1/agents", { key: other.key, body: { name: "A" }, headers });
    expect(theirs.status).toBe(201);
    expect(theirs.headers.get("idempotent-replayed")).toBeNull();
  });

  it("frees the key when the first request fails, so a corrected retry runs", async () => {
    const org = await app.newOrg();
    const headers = { "idempotency-key": "fails-first" };
    const failed = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Klingon", languages: ["tlh"] }, headers });
    expect(failed.status).toBe(422);
    const retried = await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Klingon", languages: ["tlh"] }, headers });
    expect(retried.status).toBe(422);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
  });

  it("replays a retried publish and rollback instead of acting twice", async () => {
    const org = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Versions" } })).body.data;
    const publish = (n: string) => app.api("POST", `/api/v1/agents/${agent.id}/publish`, { key: org.key, body: { note: "v" }, headers: { "idempotency-key": n } });
    const v1 = (await publish("publish-1")).body.data;
    const again = await publish("publish-1");
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.data.id).toBe(v1.id);
    await publish("publish-2");
    const rollback = () => app.api("POST", `/api/v1/agents/${agent.id}/rollback`, { key: org.key, body: { versionId: v1.id }, headers: { "idempotency-key": "rollback-1" } });
    const first = await rollback();
    const retried = await rollback();
    expect(first.status).toBe(200);
    expect(retried.headers.get("idempotent-replayed")).toBe("true");
    expect(retried.body).toEqual(first.body);
    const versions = (await app.api("GET", `/api/v1/agents/${agent.id}/versions`, { key: org.key })).body.data;
    expect(versions).toHaveLength(2);
    // create (1), two publishes (3), one rollback (4): the retries changed nothing.
    expect((await app.api("GET", `/api/v1/agents/${agent.id}`, { key: org.key })).body.data).toMatchObject({ version: 4, publishedVersionId: v1.id });
  });

  it("keeps a secret shown once retrievable only through the replay, sealed at rest", async () => {
    const org = await app.newOrg();
    const headers = { "idempotency-key": "mint-key" };
    const first = await app.api("POST", "/api/v1/api-keys", { key: org.key, body: { name: "ci", scopes: ["agents:read"] }, headers });
    const again = await app.api("POST", "/api/v1/api-keys", { key: org.key, body: { name: "ci", scopes: ["agents:read"] }, headers });
    expect(again.body.data.secret).toBe(first.body.data.secret);
    const rows = await app.query(`select sealed_body from idempotency_keys where key = 'mint-key'`);
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows);
    expect(stored).toContain("v1.");
    expect(stored).not.toContain(first.body.data.secret);
  });
});

describe("conditional requests", () => {
  it("takes If-Match: * as any current version (RFC 9110), and still 404s an agent that does not exist", async () => {
    const org = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Starred" } })).body.data;
    await app.api("PATCH", `/api/v1/agents/${agent.id}`, { key: org.key, body: { tone: "one" } });
    const any = await app.api("PATCH", `/api/v1/agents/${agent.id}`, { key: org.key, body: { tone: "two" }, headers: { "if-match": "*" } });
    expect(any.status).toBe(200);
    expect(any.body.data).toMatchObject({ tone: "two", version: 3 });
    isProblem(await app.api("PATCH", "/api/v1/agents/agt_missing", { key: org.key, body: { tone: "x" }, headers: { "if-match": "*" } }), 404, "agent_not_found");
    isProblem(await app.api("PATCH", `/api/v1/agents/${agent.id}`, { key: org.key, body: { tone: "x" }, headers: { "if-match": "**" } }), 400, "invalid_if_match");
  });
});
