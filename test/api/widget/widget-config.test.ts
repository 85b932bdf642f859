import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let agentId: string;
const SITE = "https://www.example.com";

beforeAll(async () => {
  app = await startTestApp({ PUBLIC_BASE_URL: "https://chat.example.net" });
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Front desk" } })).body.data.id;
});
afterAll(() => app.stop());

const DEFAULTS = {
  theme: { primaryColor: "#2563eb", position: "bottom-right", mode: "auto", launcherIcon: null, avatarUrl: null },
  copy: { title: "Chat with us", subtitle: "We answer right away", greeting: "", placeholder: "Type your message…", launcherLabel: "Open chat" },
  behavior: { openOnLoad: false, autoOpenDelayMs: 0, showBranding: true, persistConversation: true },
};

const newKey = async (agent = agentId, body: Record<string, unknown> = {}) =>
  (await app.api("POST", `/api/v1/agents/${agent}/publishable-keys`, { key, body: { name: "Site", allowedOrigins: [SITE], ...body } })).body.data;

describe("widget configuration", () => {
  it("answers the defaults until one is saved", async () => {
    const res = await app.api("GET", `/api/v1/agents/${agentId}/widget`, { key });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual(DEFAULTS);
  });

  it("replaces the whole configuration: what is left out goes back to its default", async () => {
    const saved = await app.api("PUT", `/api/v1/agents/${agentId}/widget`, {
      key,
      body: {
        theme: { primaryColor: "#0F766E", position: "bottom-left", mode: "dark", avatarUrl: "https://cdn.example.com/a.png" },
        copy: { title: "Ask Ada", greeting: "Questions about your order? Ask away." },
        behavior: { openOnLoad: true, autoOpenDelayMs: 3000 },
      },
    });
    expect(saved.status).toBe(200);
    const expected = {
      theme: { ...DEFAULTS.theme, primaryColor: "#0F766E", position: "bottom-left", mode: "dark", avatarUrl: "https://cdn.example.com/a.png" },
      copy: { ...DEFAULTS.copy, title: "Ask Ada", greeting: "Questions about your order? Ask away." },
      behavior: { ...DEFAULTS.behavior, openOnLoad: true, autoOpenDelayMs: 3000 },
    };
    expect(saved.body.data).toEqual(expected);
    expect((await app.api("GET", `/api/v1/agents/${agentId}/widget`, { key })).body.data).toEqual(expected);

    const replaced = await app.api("PUT", `/api/v1/agents/${agentId}/widget`, { key, body: { copy: { title: "Hello" } } });
    expect(replaced.body.data).toEqual({ ...DEFAULTS, copy: { ...DEFAULTS.copy, title: "Hello" } });
  });

  it("refuses values outside the schema with field errors", async () => {
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/widget`, {
      key,
      body: { theme: { primaryColor: "blue", position: "top", avatarUrl: "javascript:alert(1)" }, behavior: { autoOpenDelayMs: -1 } },
    });
    expect(res.status).toBe(400);
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    for (const field of ["theme.primaryColor", "theme.position", "theme.avatarUrl", "behavior.autoOpenDelayMs"]) expect(fields).toContain(field);
  });

  it("keeps each agent's configuration to its organization", async () => {
    const other = await app.newOrg();
    expect((await app.api("GET", `/api/v1/agents/${agentId}/widget`, { key: other.key })).status).toBe(404);
    expect((await app.api("PUT", `/api/v1/agents/${agentId}/widget`, { key: other.key, body: {} })).status).toBe(404);
  });

  it("needs widgets:read to read and widgets:write to replace", async () => {
    const { organizationId } = await app.newOrg();
    const reader = await app.keyWith(organizationId, ["widgets:read"]);
    const res = await app.api("PUT", `/api/v1/agents/${agentId}/widget`, { key: reader, body: {} });
    expect(res.status).toBe(403);
    expect(res.body.requiredScope).toBe("widgets:write");
  });
});

describe("embed snippet", () => {
  it("answers 409 no_publishable_key while the agent has no active key", async () => {
    const agent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Keyless" } })).body.data.id;
    const res = await app.api("GET", `/api/v1/agents/${agent}/widget/embed`, { key });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("no_publishable_key");
    const revoked = await newKey(agent);
    await app.api("DELETE", `/api/v1/agents/${agent}/publishable-keys/${revoked.id}`, { key });
    expect((await app.api("GET", `/api/v1/agents/${agent}/widget/embed`, { key })).body.code).toBe("no_publishable_key");
    expect((await app.api("GET", `/api/v1/agents/${agent}/widget/embed?publishableKeyId=${revoked.id}`, { key })).body.code).toBe("key_revoked");
  });

  it("embeds the oldest active key by default, or the one named, from PUBLIC_BASE_URL", async () => {
    const agent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Embedded" } })).body.data.id;
    const first = await newKey(agent);
    const second = await newKey(agent);
    const res = await app.api("GET", `/api/v1/agents/${agent}/widget/embed`, { key });
    expect(res.status).toBe(200);
    expect(res.body.data.scriptSnippet).toBe(`<script src="https://chat.example.net/widget/loader.js" data-flowyte-key="${first.keyPublic}" async></script>`);
    expect(res.body.data.publishableKey).toEqual(first);
    const named = await app.api("GET", `/api/v1/agents/${agent}/widget/embed?publishableKeyId=${second.id}`, { key });
    expect(named.body.data.scriptSnippet).toContain(`data-flowyte-key="${second.keyPublic}"`);
    expect((await app.api("GET", `/api/v1/agents/${agent}/widget/embed?publishableKeyId=pk_nope`, { key })).status).toBe(404);
  });
});

describe("another organization's agent or an id that does not exist", () => {
  it("answers 404 agent_not_found on the embed snippet, with and without a key id, not 409 no_publishable_key", async () => {
    const theirs = await app.newOrg("Theirs");
    const theirAgent = (await app.api("POST", "/api/v1/agents", { key: theirs.key, body: { name: "Theirs" } })).body.data.id;
    const theirKey = (await app.api("POST", `/api/v1/agents/${theirAgent}/publishable-keys`, { key: theirs.key, body: { name: "Site", allowedOrigins: [SITE] } })).body.data;
    const keyless = (await app.api("POST", "/api/v1/agents", { key: theirs.key, body: { name: "Their keyless" } })).body.data.id;
    const mine = await newKey();
    for (const agent of [theirAgent, keyless, "agt_01NOTANAGENT0000000000000"]) {
      for (const query of ["", `?publishableKeyId=${theirKey.id}`, `?publishableKeyId=${mine.id}`, "?publishableKeyId=pk_nope"]) {
        const res = await app.api("GET", `/api/v1/agents/${agent}/widget/embed${query}`, { key });
        expect([agent, query, res.status, res.body.code]).toEqual([agent, query, 404, "agent_not_found"]);
      }
    }
    // Their key named on my agent is not mine either.
    const crossed = await app.api("GET", `/api/v1/agents/${agentId}/widget/embed?publishableKeyId=${theirKey.id}`, { key });
    expect([crossed.status, crossed.body.code]).toEqual([404, "publishable_key_not_found"]);
  });

  it("answers 404 agent_not_found on the widget configuration and publishable-key routes", async () => {
    const theirs = await app.newOrg("Theirs too");
    const theirAgent = (await app.api("POST", "/api/v1/agents", { key: theirs.key, body: { name: "Theirs" } })).body.data.id;
    const theirKey = (await app.api("POST", `/api/v1/agents/${theirAgent}/publishable-keys`, { key: theirs.key, body: { name: "Site", allowedOrigins: [SITE] } })).body.data;
    await app.api("DELETE", `/api/v1/agents/${theirAgent}/publishable-keys/${theirKey.id}`, { key: theirs.key });
    for (const agent of [theirAgent, "agt_01NOTANAGENT0000000000000"]) {
      const keyPath = `/api/v1/agents/${agent}/publishable-keys/${theirKey.id}`;
      for (const [method, path, body] of [
        ["GET", `/api/v1/agents/${agent}/widget`],
        ["PUT", `/api/v1/agents/${agent}/widget`, {}],
        ["GET", `/api/v1/agents/${agent}/publishable-keys`],
        ["POST", `/api/v1/agents/${agent}/publishable-keys`, { name: "x", allowedOrigins: [SITE] }],
        // Their key is revoked: a state check before the agent's would answer 409 key_revoked.
        ["PATCH", keyPath, { name: "y" }],
        ["POST", `${keyPath}/rotate`],
        ["DELETE", keyPath],
      ] as const) {
        const res = await app.api(method, path, { key, body });
        expect([method, path, res.status, res.body.code]).toEqual([method, path, 404, "agent_not_found"]);
      }
    }
  });
});

describe("widget bootstrap", () => {
  it("gives a browser the agent's name and widget configuration, and nothing secret", async () => {
    const agent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Bootstrapped", persona: "internal persona text", greeting: "Hi there" } })).body.data.id;
    await app.api("PUT", `/api/v1/agents/${agent}/widget`, { key, body: { copy: { title: "Ask us" } } });
    const pk = await newKey(agent, { requireIdentityVerification: true });
    const res = await app.api("GET", `/api/v1/chat/widget/bootstrap?key=${pk.keyPublic}`, { key: null, headers: { origin: SITE } });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      agentId: agent,
      agentName: "Bootstrapped",
      widget: { ...DEFAULTS, copy: { ...DEFAULTS.copy, title: "Ask us" } },
      requireIdentityVerification: true,
    });
    const text = JSON.stringify(res.body);
    for (const secret of ["internal persona text", "flowyte_sk_", "organizationId", pk.id]) expect(text).not.toContain(secret);
  });
});

describe("widget files", () => {
  it("serves the loader and the chat UI without a key, and nothing else from that folder", async () => {
    for (const [file, type] of [
      ["loader.js", "text/javascript"],
      ["chat.js", "text/javascript"],
      ["chat.css", "text/css"],
    ] as const) {
      const res = await fetch(`${app.url}/widget/${file}`);
      expect({ file, status: res.status }).toEqual({ file, status: 200 });
      expect(res.headers.get("content-type")).toContain(type);
      expect(res.headers.get("cache-control")).toBe("public, max-age=300");
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    expect((await fetch(`${app.url}/widget/routes.ts`)).status).toBe(404);
    expect((await fetch(`${app.url}/widget/..%2F..%2Fapp.ts`)).status).toBe(404);
  });
});
