// Real-browser tests run the system's Chromium (Debian's `chromium` package) through playwright-core, which
// downloads nothing. Without /usr/bin/chromium the tests skip themselves with a warning, so a fresh machine still
// runs `bun run test`; `apt-get install -y chromium` enables them (CI does).
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    timeout: 15_000,
  });
}

/** A customer's web page on its own origin (http://127.0.0.1:<port>), for embedding the widget. */
export function servePage(html: () => string) {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(html(), { headers: { "content-type": "text/html; charset=utf-8" } }) });
  return { origin: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}
