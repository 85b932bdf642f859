// A small website on 127.0.0.1 for crawling tests: pages (HTML or any body), robots.txt and sitemap.xml as
// plain HTTP/1.1 answers, with a per-path delay to make a crawl slow and a log of what was requested.

export interface SitePage {
  body: string;
  type?: string;
  status?: number;
  delayMs?: number;
}

export function startLocalSite(pages: Record<string, SitePage | string>) {
  const requests: string[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const entry = pages[path];
      if (entry === undefined) return new Response("not found", { status: 404 });
      const page = typeof entry === "string" ? { body: entry } : entry;
      if (page.delayMs) await Bun.sleep(page.delayMs);
      return new Response(page.body, { status: page.status ?? 200, headers: { "content-type": page.type ?? "text/html; charset=utf-8" } });
    },
  });
  const url = `http://127.0.0.1:${server.port}`;
  return { url, pages, requests, stop: () => server.stop(true) };
}

export const html = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
