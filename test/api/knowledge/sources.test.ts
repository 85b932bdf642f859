import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { html, startLocalSite } from "./local-site.ts";

let app: TestApp;
let key: string;
let agentId: string;
const site = startLocalSite({});

beforeAll(async () => {
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
  ({ key } = await app.newOrg());
  agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Help desk" } })).body.data.id;
});
afterAll(async () => {
  await app?.stop();
  site.stop();
});

const sources = (path = "") => `/api/v1/agents/${agentId}/knowledge/sources${path}`;

async function addSource(body: Record<string, unknown>) {
  const res = await app.api("POST", sources(), { key, body });
  expect(res.status).toBe(201);
  return res.body.data;
}

/** Polls the source until `done` holds (every 100 ms, at most `timeoutMs`). */
async function waitForSource(id: string, done: (s: any) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await app.api("GET", sources(`/${id}`), { key });
    if (done(res.body.data)) return res.body.data;
    if (Date.now() > deadline) throw new Error(`source ${id} still ${JSON.stringify(res.body.data)}`);
    await Bun.sleep(100);
  }
}
const indexed = (id: string, timeoutMs?: number) => waitForSource(id, (s) => s.status === "indexed" || s.status === "error", timeoutMs);

async function preview(query: string, sourceIds?: string[]) {
  const res = await app.api("POST", `/api/v1/agents/${agentId}/knowledge/preview`, { key, body: { query, sourceIds } });
  expect(res.status).toBe(200);
  return res.body.data as { chunks: any[]; topScore: number };
}

describe("creating sources", () => {
  it("answers at once with status pending, then indexes a text source", async () => {
    const created = await addSource({ kind: "text", label: "Shipping", text: "We ship to Canada and Mexico. Standard shipping takes five business days." });
    expect(created).toMatchObject({ kind: "text", label: "Shipping", status: "pending", chunkCount: 0, progress: { current: 0, total: 0 }, refreshEnabled: false, refreshIntervalS: 604800 });
    const done = await indexed(created.id);
    expect(done).toMatchObject({ status: "indexed", chunkCount: 1, errorMessage: null, textContent: "We ship to Canada and Mexico. Standard shipping takes five business days." });
    expect(done.progress).toEqual({ current: 1, total: 1 });
    expect(done.embeddingModel).toBeString();
    expect(done.indexedAt).toBeString();
    const found = await preview("Do you ship to Canada?");
    expect(found.chunks[0]).toMatchObject({ sourceId: created.id, text: expect.stringContaining("Canada") });
    expect(found.topScore).toBe(found.chunks[0].similarity);
  });

  it("indexes an FAQ as one passage per question, keeping question and answer apart", async () => {
    const created = await addSource({
      kind: "faq",
      label: "FAQ",
      items: [
        { question: "How do I reset my password?", answer: "Use the Forgot password link on the sign-in page." },
        { question: "Can I change my plan later?", answer: "Yes, plans can be changed at any time from Billing." },
      ],
    });
    const done = await indexed(created.id);
    expect(done).toMatchObject({ status: "indexed", chunkCount: 2 });
    expect(done.items).toHaveLength(2);
    const found = await preview("How do I reset my password?", [created.id]);
    expect(found.chunks[0]).toMatchObject({ question: "How do I reset my password?", answer: "Use the Forgot password link on the sign-in page.", sourceId: created.id });
    expect(found.chunks.every((c) => c.sourceId === created.id)).toBe(true);
  });

  it("crawls a website: the start page, its sitemap and same-site links, within depth and page limits, obeying robots.txt", async () => {
    site.pages["/robots.txt"] = { body: `User-agent: *\nDisallow: /private\nSitemap: ${site.url}/sitemap.xml\n`, type: "text/plain" };
    site.pages["/sitemap.xml"] = { body: `<?xml version="1.0"?><urlset><url><loc>${site.url}/help/billing</loc></url><url><loc>${site.url}/private/secret</loc></url></urlset>`, type: "application/xml" };
    site.pages["/help"] = html("Help center", `<p>Welcome to the help center of Acme Widgets.</p><a href="/help/returns">Returns</a> <a href="/private/admin">Admin</a> <a href="https://example.org/">elsewhere</a>`);
    site.pages["/help/returns"] = html("Returns", `<p>Returns are accepted within 45 days of delivery with the original receipt.</p><a href="/help/deep">Deeper</a>`);
    site.pages["/help/billing"] = html("Billing", "<p>Invoices are emailed on the first business day of each month.</p>");
    site.pages["/help/deep"] = html("Deep", "<p>This page is two links away and must not be read at depth one.</p>");
    site.pages["/private/secret"] = html("Secret", "<p>Robots said no.</p>");
    site.pages["/private/admin"] = html("Admin", "<p>Robots said no.</p>");

    const created = await addSource({ kind: "url", label: "Help center", url: `${site.url}/help` });
    expect(created).toMatchObject({ status: "pending", sourceUrl: `${site.url}/help`, crawl: { maxDepth: 1, maxPages: 25 } });
    const done = await indexed(created.id);
    expect(done.status).toBe("indexed");
    expect(done.textContent).toContain("45 days");
    expect(done.textContent).toContain("first business day");
    expect(done.textContent).not.toContain("two links away");
    expect(done.textContent).not.toContain("Robots said no");
    expect(site.requests).not.toContain("/private/secret");
    expect(site.requests).not.toContain("/private/admin");
    expect(site.requests).not.toContain("/help/deep");
    const found = await preview("How many days do I have to return an item?", [created.id]);
    expect(found.chunks[0].sourceUrl).toBe(`${site.url}/help/returns`);

    const onePage = await addSource({ kind: "url", label: "One page", url: `${site.url}/help`, crawl: { maxDepth: 1, maxPages: 1 } });
    expect((await indexed(onePage.id)).textContent).not.toContain("45 days");
  });

  it("ends in error with a readable reason when the start page cannot be read", async () => {
    const missing = await addSource({ kind: "url", label: "Gone", url: `${site.url}/nowhere` });
    expect(await indexed(missing.id)).toMatchObject({ status: "error", errorMessage: `${site.url}/nowhere answered 404` });

    site.pages["/robots.txt"] = { body: "User-agent: FlowyteBot\nDisallow: /blocked\n", type: "text/plain" };
    site.pages["/blocked"] = html("Blocked", "<p>Not for crawlers.</p>");
    const blocked = await addSource({ kind: "url", label: "Blocked", url: `${site.url}/blocked` });
    expect(await indexed(blocked.id)).toMatchObject({ status: "error", errorMessage: `robots.txt of ${site.url} does not allow FlowyteBot to read /blocked` });
  });

  it("refuses a payload that does not match the kind, naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: "url", label: "x" }, "url"],
      [{ kind: "text", label: "x", url: "https://example.com" , text: "hi" }, "url"],
      [{ kind: "faq", label: "x", text: "hello" }, "items"],
      [{ kind: "file", label: "x" }, "file_id"],
      [{ kind: "text", label: "x", text: "hi", refreshEnabled: true }, "refreshEnabled"],
      [{ kind: "text", label: "x", text: "hi", crawl: { maxPages: 3 } }, "crawl"],
      [{ kind: "url", label: "x", url: "ftp://example.com/file" }, "url"],
      [{ kind: "url", label: "x", url: "https://example.com", crawl: { maxPages: 201 } }, "crawl.maxPages"],
      [{ kind: "file", label: "x", file_id: "file_01NOTAFILE" }, "file_id"],
      [{ kind: "web", label: "x" }, "kind"],
    ];
    for (const [body, field] of cases) {
      const res = await app.api("POST", sources(), { key, body });
      expect({ body, status: res.status, fields: res.body.errors?.map((e: any) => e.field) }).toEqual({ body, status: 400, fields: expect.arrayContaining([field]) });
    }
  });

  it("replays a retried creation with the same Idempotency-Key instead of adding a second source", async () => {
    const body = { kind: "text", label: "Once", text: "Only once." };
    const first = await app.api("POST", sources(), { key, body, headers: { "idempotency-key": "add-once" } });
    const again = await app.api("POST", sources(), { key, body, headers: { "idempotency-key": "add-once" } });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.data.id).toBe(first.body.data.id);
  });
});

describe("reading, listing and deleting", () => {
  it("lists sources newest first without their content, a page at a time", async () => {
    const org = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Lister" } })).body.data;
    const path = `/api/v1/agents/${agent.id}/knowledge/sources`;
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await app.api("POST", path, { key: org.key, body: { kind: "text", label: `T${n}`, text: `Text ${n}.` } })).body.data.id);
    const first = await app.api("GET", `${path}?limit=2`, { key: org.key });
    expect(first.body.data.map((s: any) => s.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.data[0]).not.toHaveProperty("textContent");
    expect(first.body.data[0]).not.toHaveProperty("items");
    expect(first.body.pagination).toMatchObject({ limit: 2, hasMore: true });
    const second = await app.api("GET", `${path}?limit=2&cursor=${first.body.pagination.nextCursor}`, { key: org.key });
    expect(second.body.data.map((s: any) => s.id)).toEqual([ids[0]]);
  });

  it("answers 404 for another organization's agent or source, and for an unknown agent", async () => {
    const created = await addSource({ kind: "text", label: "Mine", text: "Private text." });
    const other = await app.newOrg();
    expect((await app.api("GET", sources(`/${created.id}`), { key: other.key })).status).toBe(404);
    expect((await app.api("GET", sources(), { key: other.key })).body.code).toBe("agent_not_found");
    expect((await app.api("DELETE", sources(`/${created.id}`), { key: other.key })).status).toBe(404);
    expect((await app.api("POST", `/api/v1/agents/${agentId}/knowledge/preview`, { key: other.key, body: { query: "text" } })).status).toBe(404);
    expect((await app.api("GET", `/api/v1/agents/agt_01UNKNOWN/knowledge/sources`, { key })).status).toBe(404);
    const otherAgent = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Sibling" } })).body.data;
    expect((await app.api("GET", `/api/v1/agents/${otherAgent.id}/knowledge/sources/${created.id}`, { key })).body.code).toBe("knowledge_source_not_found");
  });

  it("deletes a source and every passage cut from it: preview no longer finds it", async () => {
    const created = await addSource({ kind: "text", label: "Parking", text: "Free parking is available behind the Elmwood store after six pm." });
    await indexed(created.id);
    expect((await preview("Where can I park at Elmwood?")).chunks.some((c) => c.sourceId === created.id)).toBe(true);
    const del = await app.api("DELETE", sources(`/${created.id}`), { key });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ success: true, data: null });
    expect((await preview("Where can I park at Elmwood?")).chunks.some((c) => c.sourceId === created.id)).toBe(false);
    expect((await app.api("GET", sources(`/${created.id}`), { key })).status).toBe(404);
    expect(await app.query(`select count(*)::int as n from knowledge_chunks where source_id = '${created.id}'`)).toEqual([{ n: 0 }]);
  });

  it("needs knowledge:read to read and knowledge:write to change", async () => {
    const { organizationId, key: owner } = await app.newOrg();
    const agent = (await app.api("POST", "/api/v1/agents", { key: owner, body: { name: "Scoped" } })).body.data;
    const reader = await app.keyWith(organizationId, ["knowledge:read"]);
    const path = `/api/v1/agents/${agent.id}/knowledge/sources`;
    expect((await app.api("GET", path, { key: reader })).status).toBe(200);
    const refused = await app.api("POST", path, { key: reader, body: { kind: "text", label: "x", text: "y" } });
    expect(refused.status).toBe(403);
    expect(refused.body.requiredScope).toBe("knowledge:write");
  });
});

describe("refresh", () => {
  it("re-reads a website on request: lastCheckedAt always moves, lastChangedAt and the passages only when the content changed", async () => {
    site.pages["/robots.txt"] = { body: "", status: 404 };
    site.pages["/hours"] = html("Hours", "<p>The Elm Street shop opens at nine in the morning.</p>");
    const created = await addSource({ kind: "url", label: "Hours", url: `${site.url}/hours`, crawl: { maxDepth: 0 } });
    const first = await indexed(created.id);
    const [chunk] = await app.query<{ id: string }>(`select id from knowledge_chunks where source_id = '${created.id}'`);

    const unchanged = await app.api("POST", sources(`/${created.id}/refresh`), { key });
    expect(unchanged.status).toBe(202);
    expect(unchanged.body.data.id).toBe(created.id);
    const checked = await waitForSource(created.id, (s) => s.lastCheckedAt !== first.lastCheckedAt);
    expect(checked).toMatchObject({ status: "indexed", lastChangedAt: first.lastChangedAt, indexedAt: first.indexedAt, errorMessage: null });
    expect(await app.query(`select id from knowledge_chunks where source_id = '${created.id}'`)).toEqual([chunk!]);

    site.pages["/hours"] = html("Hours", "<p>From June the Elm Street shop opens at eight in the morning.</p>");
    expect((await app.api("POST", sources(`/${created.id}/refresh`), { key })).status).toBe(202);
    const changed = await waitForSource(created.id, (s) => s.lastChangedAt !== first.lastChangedAt);
    expect(changed.textContent).toContain("eight in the morning");
    expect(changed.lastCheckedAt).toBe(changed.lastChangedAt);
    const found = await preview("When does the Elm Street shop open?", [created.id]);
    expect(found.chunks[0].text).toContain("eight");
  });

  it("keeps the passages in use when a refresh fails, and says why", async () => {
    site.pages["/faq"] = html("FAQ", "<p>Gift wrapping costs three dollars.</p>");
    const created = await addSource({ kind: "url", label: "FAQ page", url: `${site.url}/faq`, crawl: { maxDepth: 0 } });
    const first = await indexed(created.id);
    delete site.pages["/faq"];
    await app.api("POST", sources(`/${created.id}/refresh`), { key });
    const failed = await waitForSource(created.id, (s) => s.lastCheckedAt !== first.lastCheckedAt);
    expect(failed).toMatchObject({ status: "indexed", chunkCount: 1, lastChangedAt: first.lastChangedAt, errorMessage: `refresh failed: ${site.url}/faq answered 404` });
    expect((await preview("How much is gift wrapping?", [created.id])).chunks).toHaveLength(1);
  });

  it("refuses to refresh or auto-refresh anything but a website", async () => {
    const text = await addSource({ kind: "text", label: "Static", text: "Never changes." });
    const refresh = await app.api("POST", sources(`/${text.id}/refresh`), { key });
    expect(refresh.status).toBe(400);
    expect(refresh.body.code).toBe("refresh_not_supported");
    const patch = await app.api("PATCH", sources(`/${text.id}`), { key, body: { refreshEnabled: true } });
    expect(patch.status).toBe(400);
    expect(patch.body.errors).toEqual([{ field: "refreshEnabled", message: "applies to url sources only" }]);
    expect((await app.api("PATCH", sources(`/${text.id}`), { key, body: { label: "Renamed" } })).body.data.label).toBe("Renamed");
  });

  it("turns auto-refresh on (weekly by default, at least daily) and keeps nextRefreshAt one interval after the last check", async () => {
    site.pages["/weekly"] = html("Weekly", "<p>Specials change every week.</p>");
    const created = await addSource({ kind: "url", label: "Weekly", url: `${site.url}/weekly`, crawl: { maxDepth: 0 } });
    const done = await indexed(created.id);
    expect(done.nextRefreshAt).toBeNull();
    const on = await app.api("PATCH", sources(`/${created.id}`), { key, body: { refreshEnabled: true } });
    expect(on.status).toBe(200);
    expect(on.body.data).toMatchObject({ refreshEnabled: true, refreshIntervalS: 604800 });
    expect(Date.parse(on.body.data.nextRefreshAt) - Date.parse(done.lastCheckedAt)).toBe(604800 * 1000);
    const daily = await app.api("PATCH", sources(`/${created.id}`), { key, body: { refreshIntervalS: 86400 } });
    expect(Date.parse(daily.body.data.nextRefreshAt) - Date.parse(done.lastCheckedAt)).toBe(86400 * 1000);
    const tooOften = await app.api("PATCH", sources(`/${created.id}`), { key, body: { refreshIntervalS: 3600 } });
    expect(tooOften.status).toBe(400);
    expect(tooOften.body.errors[0]).toEqual({ field: "refreshIntervalS", message: "must be at least 86400" });
    const off = await app.api("PATCH", sources(`/${created.id}`), { key, body: { refreshEnabled: false } });
    expect(off.body.data.nextRefreshAt).toBeNull();
  });
});

describe("durability", () => {
  it("re-reads a due website after a restart: the scheduler catches up at start", async () => {
    site.pages["/due"] = html("Due", "<p>Opening hours are posted every Monday.</p>");
    const created = await addSource({ kind: "url", label: "Due", url: `${site.url}/due`, crawl: { maxDepth: 0 }, refreshEnabled: true, refreshIntervalS: 86400 });
    const first = await indexed(created.id);
    expect(Date.parse(first.nextRefreshAt) - Date.parse(first.lastCheckedAt)).toBe(86400 * 1000);
    await app.query(`update knowledge_sources set next_refresh_at = now() - interval '1 hour' where id = '${created.id}'`);
    await app.restart();
    const refreshed = await waitForSource(created.id, (s) => s.lastCheckedAt !== first.lastCheckedAt);
    expect(Date.parse(refreshed.nextRefreshAt)).toBeGreaterThan(Date.now() + 86000 * 1000);
    expect(refreshed.lastChangedAt).toBe(first.lastChangedAt);
  });

  it("loses nothing when the server restarts in the middle of an ingestion", async () => {
    site.pages["/slow"] = html("Slow", `<p>The warranty covers parts and labour for two years.</p><a href="/slow/1">1</a><a href="/slow/2">2</a>`);
    site.pages["/slow/1"] = { body: html("Slow one", "<p>Batteries are covered for one year.</p>"), delayMs: 1500 };
    site.pages["/slow/2"] = { body: html("Slow two", "<p>Accidental damage is not covered.</p>"), delayMs: 1500 };
    const created = await addSource({ kind: "url", label: "Slow", url: `${site.url}/slow` });
    await waitForSource(created.id, () => site.requests.includes("/slow/1"));
    const before = site.requests.length;
    await app.restart();
    const done = await indexed(created.id, 40_000);
    expect(done.status).toBe("indexed");
    expect(done.textContent).toContain("Accidental damage");
    expect(site.requests.slice(before)).toContain("/slow");
    expect((await preview("Are batteries covered by the warranty?", [created.id])).chunks.length).toBeGreaterThan(0);
  });
});
