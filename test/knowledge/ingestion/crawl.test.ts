import { afterAll, describe, expect, it } from "bun:test";
import { crawlSite, loadRobots, parseSitemap } from "../../../src/knowledge/ingestion/crawl.ts";
import { IngestionError, TransientIngestionError } from "../../../src/knowledge/ingestion/errors.ts";
import { createPageFetcher } from "../../../src/knowledge/ingestion/fetcher.ts";
import { createEgressGuard } from "../../../src/platform/egress.ts";
import { html, startLocalSite } from "../../api/knowledge/local-site.ts";

const site = startLocalSite({});
afterAll(() => site.stop());
const fetchPage = createPageFetcher(createEgressGuard({ allowlist: ["127.0.0.1"] }));
const signal = new AbortController().signal;
const crawl = (path: string, maxDepth = 1, maxPages = 25) => crawlSite(new URL(site.url + path), { maxDepth, maxPages }, { fetchPage, signal });

describe("robots.txt", () => {
  it("allows everything when there is none, and nothing while it answers 5xx", async () => {
    site.pages["/robots.txt"] = { body: "gone", status: 404 };
    expect((await loadRobots(new URL(site.url), fetchPage, signal)).allows(new URL(`${site.url}/anything`))).toBe(true);
    site.pages["/robots.txt"] = { body: "busy", status: 503 };
    const refused = loadRobots(new URL(site.url), fetchPage, signal);
    await expect(refused).rejects.toBeInstanceOf(TransientIngestionError);
    await expect(refused).rejects.toThrow("treated as closed to crawlers");
  });

  it("obeys the rules for FlowyteBot (or *), lists its sitemaps and reads its crawl-delay", async () => {
    site.pages["/robots.txt"] = { body: "User-agent: *\nDisallow: /\n\nUser-agent: FlowyteBot\nDisallow: /admin\nCrawl-delay: 2\nSitemap: /map.xml\n", type: "text/plain" };
    const robots = await loadRobots(new URL(site.url), fetchPage, signal);
    expect(robots.allows(new URL(`${site.url}/help`))).toBe(true);
    expect(robots.allows(new URL(`${site.url}/admin/users`))).toBe(false);
    expect(robots.crawlDelayMs).toBe(2000);
    expect(robots.sitemaps).toEqual(["/map.xml"]);
  });

  it("refuses a start page robots.txt disallows", async () => {
    site.pages["/robots.txt"] = { body: "User-agent: *\nDisallow: /members\n", type: "text/plain" };
    site.pages["/members"] = html("Members", "<p>Hidden.</p>");
    await expect(crawl("/members")).rejects.toThrow(new IngestionError(`robots.txt of ${site.url} does not allow FlowyteBot to read /members`));
    expect(site.requests).not.toContain("/members");
  });
});

describe("sitemaps", () => {
  it("reads locations from a urlset or a sitemap index, with CDATA and entities", () => {
    expect(parseSitemap(`<urlset><url><loc> https://a.test/x?a=1&amp;b=2 </loc></url><url><loc><![CDATA[https://a.test/y]]></loc></url></urlset>`)).toEqual({
      index: false,
      locations: ["https://a.test/x?a=1&b=2", "https://a.test/y"],
    });
    expect(parseSitemap(`<?xml version="1.0"?><sitemapindex><sitemap><loc>https://a.test/s1.xml</loc></sitemap></sitemapindex>`)).toEqual({ index: true, locations: ["https://a.test/s1.xml"] });
  });

  it("follows a sitemap index to its sitemaps and keeps only this site's pages", async () => {
    site.pages["/robots.txt"] = { body: `Sitemap: ${site.url}/index.xml\n`, type: "text/plain" };
    site.pages["/index.xml"] = { body: `<sitemapindex><sitemap><loc>${site.url}/pages.xml</loc></sitemap></sitemapindex>`, type: "application/xml" };
    site.pages["/pages.xml"] = { body: `<urlset><url><loc>${site.url}/docs/a</loc></url><url><loc>https://elsewhere.test/b</loc></url></urlset>`, type: "application/xml" };
    site.pages["/docs"] = html("Docs", "<p>The docs start here.</p>");
    site.pages["/docs/a"] = html("A", "<p>Page A is only in the sitemap.</p>");
    const pages = await crawl("/docs");
    expect(pages.map((p) => p.url)).toEqual([`${site.url}/docs`, `${site.url}/docs/a`]);
  });
});

describe("crawling", () => {
  it("follows same-site links breadth first, to maxDepth hops and maxPages pages, skipping broken ones", async () => {
    site.pages["/robots.txt"] = { body: "", status: 404 };
    site.pages["/a"] = html("A", `<p>Alpha page.</p><a href="/a/1">1</a><a href="/a/broken">x</a><a href="/a/2">2</a><a href="http://localhost:1/">off-site</a>`);
    site.pages["/a/1"] = html("A1", `<p>First child.</p><a href="/a/1/deep">deep</a>`);
    site.pages["/a/2"] = html("A2", "<p>Second child.</p>");
    site.pages["/a/1/deep"] = html("Deep", "<p>Two hops away.</p>");
    expect((await crawl("/a", 0)).map((p) => p.url)).toEqual([`${site.url}/a`]);
    expect((await crawl("/a", 1)).map((p) => p.text.split("\n\n")[0])).toEqual(["Alpha page.", "First child.", "Second child."]);
    expect((await crawl("/a", 2)).map((p) => p.url)).toContain(`${site.url}/a/1/deep`);
    expect(await crawl("/a", 2, 2)).toHaveLength(2);
  });

  it("fails on the start page alone: a 404 for good, a 5xx for a retry", async () => {
    await expect(crawl("/missing")).rejects.toThrow(new IngestionError(`${site.url}/missing answered 404`));
    site.pages["/down"] = { body: "oops", status: 502 };
    await expect(crawl("/down")).rejects.toBeInstanceOf(TransientIngestionError);
  });

  it("reads a linked document that is not HTML, such as plain text", async () => {
    site.pages["/notes"] = html("Notes", `<p>See the price list.</p><a href="/prices.txt">prices</a>`);
    site.pages["/prices.txt"] = { body: "A kettle costs 30 dollars.", type: "text/plain" };
    expect((await crawl("/notes")).map((p) => p.text)).toContain("A kettle costs 30 dollars.");
  });

  it("refuses a loopback address unless EGRESS_ALLOWLIST names it", async () => {
    const guarded = createPageFetcher(createEgressGuard({ allowlist: [] }));
    const attempt = crawlSite(new URL(`${site.url}/a`), { maxDepth: 0, maxPages: 1 }, { fetchPage: guarded, signal });
    await expect(attempt).rejects.toBeInstanceOf(IngestionError);
    await expect(attempt).rejects.toThrow("127.0.0.1 resolves to a loopback address (127.0.0.1); add it to EGRESS_ALLOWLIST to allow it");
  });
});
