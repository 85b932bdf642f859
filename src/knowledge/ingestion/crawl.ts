// Reading a website for a URL source: the start page, then pages of the same origin listed in its sitemap
// or linked from pages already read, breadth first, to `maxDepth` link hops and `maxPages` pages. robots.txt
// is obeyed as RFC 9309 says: a missing one (4xx) allows everything, an unreachable one (5xx) allows nothing.
import robotsParser from "robots-parser";
import { IngestionError, TransientIngestionError } from "./errors.ts";
import { detectFormat, extractDocument } from "./extract.ts";
import { ROBOTS_AGENT, statusProblem, type PageFetcher } from "./fetcher.ts";
import { pageLinks, readableText } from "./html.ts";

export const DEFAULT_MAX_DEPTH = 1;
export const DEFAULT_MAX_PAGES = 25;
export const MAX_PAGES_LIMIT = 200;
export const MAX_DEPTH_LIMIT = 5;
/** A crawl-delay in robots.txt is honoured up to this many seconds between requests. */
const MAX_CRAWL_DELAY_S = 10;
const MAX_NESTED_SITEMAPS = 10;

export interface CrawlLimits {
  maxDepth: number;
  maxPages: number;
}

export interface CrawledPage {
  url: string;
  title: string | null;
  text: string;
}

export interface CrawlDeps {
  fetchPage: PageFetcher;
  signal: AbortSignal;
  onProgress?(done: number, total: number): void;
}

export interface Robots {
  allows(url: URL): boolean;
  sitemaps: string[];
  crawlDelayMs: number;
}

export async function crawlSite(start: URL, limits: CrawlLimits, deps: CrawlDeps): Promise<CrawledPage[]> {
  const { fetchPage, signal } = deps;
  const robots = await loadRobots(start, fetchPage, signal);
  if (!robots.allows(start)) throw new IngestionError(`robots.txt of ${start.origin} does not allow ${ROBOTS_AGENT} to read ${start.pathname}`);

  const seen = new Set<string>([keyOf(start)]);
  const queue: { url: URL; depth: number }[] = [{ url: start, depth: 0 }];
  const enqueue = (url: URL, depth: number) => {
    if (url.origin !== start.origin || seen.has(keyOf(url)) || !robots.allows(url)) return;
    seen.add(keyOf(url));
    queue.push({ url, depth });
  };
  if (limits.maxDepth >= 1) {
    for (const url of await sitemapUrls(start, robots, fetchPage, signal, limits.maxPages * 4)) enqueue(url, 1);
  }

  const pages: CrawledPage[] = [];
  let fetched = 0;
  while (queue.length && pages.length < limits.maxPages) {
    const { url, depth } = queue.shift()!;
    if (fetched++ > 0 && robots.crawlDelayMs) await sleep(robots.crawlDelayMs, signal);
    const isStart = depth === 0;
    let read: { page: CrawledPage | null; html: string | null };
    try {
      read = await readPage(url, fetchPage, signal);
    } catch (error) {
      // Only the start page decides the outcome; a broken link elsewhere is skipped.
      if (isStart || signal.aborted) throw error;
      continue;
    }
    if (isStart && !read.page) throw new IngestionError(`no readable text was found at ${url.href}`);
    if (read.page) pages.push(read.page);
    if (read.html && depth < limits.maxDepth) for (const link of pageLinks(read.html, url)) enqueue(link, depth + 1);
    deps.onProgress?.(pages.length, Math.min(limits.maxPages, pages.length + queue.length));
  }
  return pages;
}

async function readPage(url: URL, fetchPage: PageFetcher, signal: AbortSignal): Promise<{ page: CrawledPage | null; html: string | null }> {
  const fetched = await fetchPage(url, signal);
  const problem = statusProblem(fetched);
  if (problem) throw problem;
  const format = detectFormat(fetched.body, fetched.contentType, url.pathname);
  if (!format) throw new IngestionError(`${url.href} is not a page or document that can be read (${fetched.contentType || "no content type"})`);
  const html = format === "html" ? new TextDecoder().decode(fetched.body) : null;
  const extracted = html !== null ? { ...readableText(html), passages: null } : await extractDocument(fetched.body, format);
  const text = extracted.text.trim();
  return { page: text ? { url: url.href, title: extracted.title, text } : null, html };
}

export async function loadRobots(start: URL, fetchPage: PageFetcher, signal: AbortSignal): Promise<Robots> {
  const url = new URL("/robots.txt", start);
  const fetched = await fetchPage(url, signal);
  if (fetched.status >= 500 || fetched.status === 429) {
    throw new TransientIngestionError(`robots.txt of ${start.origin} could not be read (it answered ${fetched.status}); until it can, the site is treated as closed to crawlers`);
  }
  if (fetched.status < 200 || fetched.status >= 300) return { allows: () => true, sitemaps: [], crawlDelayMs: 0 };
  const robots = robotsParser(url.href, new TextDecoder().decode(fetched.body));
  const delay = Math.min(robots.getCrawlDelay(ROBOTS_AGENT) ?? 0, MAX_CRAWL_DELAY_S);
  return {
    allows: (target) => robots.isAllowed(target.href, ROBOTS_AGENT) !== false,
    sitemaps: robots.getSitemaps(),
    crawlDelayMs: delay * 1000,
  };
}

/** Page URLs of the site's sitemaps (those robots.txt names, else /sitemap.xml), following one level of sitemap index. */
async function sitemapUrls(start: URL, robots: Robots, fetchPage: PageFetcher, signal: AbortSignal, max: number): Promise<URL[]> {
  const named = robots.sitemaps.map((s) => safeUrl(s, start)).filter((u): u is URL => u !== null && u.origin === start.origin);
  const pending = named.length ? named : [new URL("/sitemap.xml", start)];
  const urls: URL[] = [];
  let nested = 0;
  while (pending.length && urls.length < max) {
    const sitemap = pending.shift()!;
    let xml: string;
    try {
      const fetched = await fetchPage(sitemap, signal);
      if (fetched.status < 200 || fetched.status >= 300) continue;
      xml = new TextDecoder().decode(fetched.body);
    } catch (error) {
      if (signal.aborted) throw error;
      continue;
    }
    const { index, locations } = parseSitemap(xml);
    for (const location of locations) {
      const url = safeUrl(location, sitemap);
      if (!url || url.origin !== start.origin) continue;
      if (index) {
        if (nested++ < MAX_NESTED_SITEMAPS) pending.push(url);
      } else {
        urls.push(url);
      }
    }
  }
  return urls.slice(0, max);
}

export function parseSitemap(xml: string): { index: boolean; locations: string[] } {
  const index = /<sitemapindex[\s>]/i.test(xml);
  // What lies between <loc> and </loc> is found first and unwrapped after: one pattern with optional CDATA and
  // spaces around a lazy URL retries every space of a run, quadratic in a hostile sitemap.
  const locations = [...xml.matchAll(/<loc>([^<]*(?:<!\[CDATA\[[^<]*)?)<\/loc>/gi)].flatMap((m) => {
    const location = locationIn(m[1]!);
    return location ? [decodeXml(location)] : [];
  });
  return { index, locations };
}

/** A <loc>'s URL, optionally in CDATA, without the spaces around it; null if it holds a `<` or `]` besides. */
function locationIn(inner: string): string | null {
  let url = inner.trim();
  if (/^<!\[CDATA\[/i.test(url)) url = url.slice("<![CDATA[".length).trimStart();
  if (url.endsWith("]]>")) url = url.slice(0, -"]]>".length).trimEnd();
  return url && !/[<\]]/.test(url) ? url : null;
}

function decodeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[name]!);
}

function keyOf(url: URL): string {
  const copy = new URL(url);
  copy.hash = "";
  return copy.href;
}

function safeUrl(href: string, base: URL): URL | null {
  try {
    return new URL(href, base);
  } catch {
    return null;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
