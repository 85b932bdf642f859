import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { createSealer } from "../../../src/platform/crypto.ts";
import { offlineGeocoder } from "../../../src/platform/geo/index.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { createSkillRunner } from "../../../src/runtime/tools/index.ts";
import { callContext, compiledSkill } from "../../support/skills-compiled.ts";

const sealer = createSealer(randomBytes(32));
const log = createLogger("error", () => {});
const runnerWith = (egressAllowlist: string[]) => createSkillRunner({ sealer, config: { egressAllowlist, smtp: null }, geocoder: offlineGeocoder(), log });
const run = runnerWith(["127.0.0.1"]);

interface Seen {
  method: string;
  path: string;
  query: string;
  headers: Headers;
  body: string;
}
let server: ReturnType<typeof Bun.serve>;
let base: string;
const seen: Seen[] = [];
beforeAll(() => {
  // A stand-in for an operator's webhook endpoint (plain HTTP/1.1 on loopback).
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({ method: req.method, path: url.pathname, query: url.search, headers: req.headers, body: await req.text() });
      switch (url.pathname) {
        case "/slow":
          await Bun.sleep(1000);
          return Response.json({ late: true });
        case "/missing":
          return Response.json({ error: "no such order" }, { status: 404 });
        case "/text":
          return new Response("all good");
        case "/list":
          return Response.json([{ name: "first" }, { name: "second" }]);
        case "/huge":
          return new Response("x".repeat(1024 * 1024 + 10));
        case "/to-metadata":
          return new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } });
        default:
          return Response.json({ order: { status: "shipped", eta: "2026-12-01", items: [{ name: "Widget" }] } });
      }
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop(true));

const hook = (executionConfig: Record<string, unknown>) => compiledSkill("http_webhook", { method: "POST", timeout_ms: 4000, ...executionConfig });
const sealedHeaders = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, sealer.seal(v)]));

describe("http_webhook executor", () => {
  it("fills {param} in the URL (encoded), headers and body from the arguments, then the conversation variables", async () => {
    const outcome = await run(
      hook({
        url: `${base}/orders/{order_number}?caller={caller_number}`,
        headers: sealedHeaders({ "X-Api-Key": "sk_live_secret", "X-Caller": "{caller_name}" }),
        body: { order: "{order_number}", quantity: "{qty}", note: "for {caller_name}", fixed: true },
      }),
      { order_number: "A 12/3", qty: 2 },
      callContext({ variables: { caller_number: "+14155550100", caller_name: "Ada", order_number: "ignored" } }),
    );
    expect(outcome.kind).toBe("result");
    const req = seen.at(-1)!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/orders/A%2012%2F3");
    expect(new URLSearchParams(req.query).get("caller")).toBe("+14155550100");
    expect(req.headers.get("x-api-key")).toBe("sk_live_secret");
    expect(req.headers.get("x-caller")).toBe("Ada");
    expect(req.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(req.body)).toEqual({ order: "A 12/3", quantity: 2, note: "for Ada", fixed: true });
  });

  it("refuses, sending nothing, when a template names a value the skill's dataEgressMap does not declare", async () => {
    const before = seen.length;
    const skill = hook({
      url: `${base}/customers/{customer_id}?from={caller_number}`,
      headers: sealedHeaders({ "X-Caller": "{caller_name}" }),
      body: { id: "{customer_id}" },
    });
    const outcome = await run(skill, { customer_id: "C-7" }, callContext({ variables: { caller_number: "+14155550100", caller_name: "Ada" }, dataEgress: ["customer_id"] }));
    expect(outcome).toEqual({ kind: "error", code: "data_egress_refused", message: expect.stringContaining("{caller_number}, {caller_name}"), fields: ["caller_number", "caller_name"] });
    expect(seen.length).toBe(before);
  });

  it("fills templates from declared values when a dataEgressMap is declared, arguments and variables alike", async () => {
    const outcome = await run(
      hook({ url: `${base}/customers/{customer_id}?from={caller_number}`, body: { id: "{customer_id}", caller: "{caller_number}" } }),
      { customer_id: "C-7" },
      callContext({ variables: { caller_number: "+14155550100", caller_name: "Ada" }, dataEgress: ["customer_id", "caller_number"] }),
    );
    expect(outcome.kind).toBe("result");
    const req = seen.at(-1)!;
    expect(req.path).toBe("/customers/C-7");
    expect(new URLSearchParams(req.query).get("from")).toBe("+14155550100");
    expect(JSON.parse(req.body)).toEqual({ id: "C-7", caller: "+14155550100" });
  });

  it("sends the call's arguments as JSON when no body is configured, and nothing with GET", async () => {
    await run(hook({ url: `${base}/default` }), { serial: "X1", count: 3 }, callContext());
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({ serial: "X1", count: 3 });
    await run(hook({ url: `${base}/get?serial={serial}`, method: "GET" }), { serial: "X1" }, callContext());
    expect(seen.at(-1)).toMatchObject({ method: "GET", query: "?serial=X1", body: "" });
  });

  it("answers the JSON as data and maps response paths into variables", async () => {
    const outcome = await run(
      hook({ url: `${base}/orders/1`, response_mapping: { order_status: "order.status", first_item: "order.items[0].name", also_first: "order.items.0.name", nothing: "order.nope" } }),
      {},
      callContext(),
    );
    expect(outcome).toEqual({
      kind: "result",
      data: { order: { status: "shipped", eta: "2026-12-01", items: [{ name: "Widget" }] } },
      variables: { order_status: "shipped", first_item: "Widget", also_first: "Widget" },
      // Where each variable came from, so the guardrails can hold one back when its field is withheld.
      variableSources: { order_status: "order.status", first_item: "order.items[0].name", also_first: "order.items.0.name" },
    });
  });

  it("wraps text answers as {text} and non-object JSON as {value}", async () => {
    expect(await run(hook({ url: `${base}/text` }), {}, callContext())).toEqual({ kind: "result", data: { text: "all good" } });
    const list = await run(hook({ url: `${base}/list`, response_mapping: { second: "[1].name" } }), {}, callContext());
    expect(list).toEqual({ kind: "result", data: { value: [{ name: "first" }, { name: "second" }] }, variables: { second: "second" }, variableSources: { second: "value[1].name" } });
  });

  it("answers http_error with the status for a non-2xx answer", async () => {
    expect(await run(hook({ url: `${base}/missing` }), {}, callContext())).toEqual({ kind: "error", code: "http_error", message: "404" });
  });

  it("gives up after timeout_ms with code timeout", async () => {
    const started = performance.now();
    const outcome = await run(hook({ url: `${base}/slow`, timeout_ms: 150 }), {}, callContext());
    expect(outcome).toMatchObject({ kind: "error", code: "timeout" });
    expect(performance.now() - started).toBeLessThan(900);
  });

  it("stops when the conversation aborts the call", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect(await run(hook({ url: `${base}/slow` }), {}, callContext({ signal: controller.signal }))).toMatchObject({ kind: "error", code: "cancelled" });
  });

  it("refuses answers over 1 MB", async () => {
    expect(await run(hook({ url: `${base}/huge` }), {}, callContext())).toMatchObject({ kind: "error", code: "response_too_large" });
  });

  it("refuses a redirect to a private address", async () => {
    const outcome = await run(hook({ url: `${base}/to-metadata` }), {}, callContext());
    expect(outcome).toMatchObject({ kind: "error", code: "egress_refused", message: expect.stringContaining("169.254.169.254") });
  });

  it("answers secret_unreadable when a stored header no longer opens", async () => {
    const other = createSealer(randomBytes(32));
    const outcome = await run(hook({ url: `${base}/x`, headers: { "X-Api-Key": other.seal("k") } }), {}, callContext());
    expect(outcome).toMatchObject({ kind: "error", code: "secret_unreadable" });
  });

  it("answers invalid_header when a filled-in header value cannot be sent", async () => {
    const outcome = await run(hook({ url: `${base}/x`, headers: sealedHeaders({ "X-Name": "{name}" }) }), { name: "snow ☃" }, callContext());
    expect(outcome).toMatchObject({ kind: "error", code: "invalid_header" });
  });
});

describe("http_webhook egress (SSRF) policy", () => {
  const strict = runnerWith([]);
  const port = () => server.port;

  it("refuses loopback, private, metadata, IPv6 loopback, IPv4-mapped IPv6 and names resolving to loopback", async () => {
    const before = seen.length;
    for (const url of [
      `http://127.0.0.1:${port()}/x`,
      "http://10.0.0.7/x",
      "http://169.254.169.254/latest/meta-data/",
      `http://[::1]:${port()}/x`,
      `http://[::ffff:127.0.0.1]:${port()}/x`,
      `http://localhost:${port()}/x`,
    ]) {
      const outcome = await strict(hook({ url }), {}, callContext());
      expect({ url, outcome }).toEqual({ url, outcome: { kind: "error", code: "egress_refused", message: expect.stringContaining("EGRESS_ALLOWLIST") } });
    }
    expect(seen.length).toBe(before);
  });

  it("reaches what EGRESS_ALLOWLIST lists, by name or by address", async () => {
    const byName = runnerWith(["localhost"]);
    expect(await byName(hook({ url: `http://localhost:${port()}/by-name` }), {}, callContext())).toMatchObject({ kind: "result" });
    expect(seen.at(-1)!.path).toBe("/by-name");
    expect(await byName(hook({ url: `http://127.0.0.1:${port()}/by-ip` }), {}, callContext())).toMatchObject({ code: "egress_refused" });

    const byAddress = runnerWith(["127.0.0.0/8"]);
    expect(await byAddress(hook({ url: `http://127.0.0.1:${port()}/by-cidr` }), {}, callContext())).toMatchObject({ kind: "result" });
    expect(await byAddress(hook({ url: `http://[::ffff:127.0.0.1]:${port()}/mapped` }), {}, callContext())).toMatchObject({ kind: "result" });
    expect(seen.at(-1)!.path).toBe("/mapped");
  });
});
