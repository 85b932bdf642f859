// The embeddable widget in a real browser: a customer's page on an allowed origin embeds the snippet, a visitor
// opens the chat with the keyboard, asks a question and reads the answer streamed over the session's WebSocket
// (or over HTTP when the socket is blocked or lost); the same page on another origin shows the refusal. Writes
// docs/widget.png, the open widget as a visitor sees it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { agentBuilder, orderStatusSkill, startWebhookTarget } from "../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { hasChromium, launchChromium, servePage } from "../support/browser.ts";
import { until } from "../support/until.ts";

if (!hasChromium) console.warn("test/web: /usr/bin/chromium is missing, so the widget's browser tests are skipped (apt-get install -y chromium)");

const SCREENSHOT = join(import.meta.dir, "../../docs/widget.png");
const LAUNCHER = "Chat with Harbor Dental";

let app: TestApp;
let ownerKey: string;
let browser: Browser;
let allowed: ReturnType<typeof servePage>;
let refused: ReturnType<typeof servePage>;

const sitePage = (snippet: string) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Harbor Dental</title>
<style>
  body { margin: 0; font: 16px/1.5 Georgia, serif; color: #1f2937; background: #f8fafc; }
  header { padding: 28px 48px; background: #0f172a; color: #f8fafc; font-size: 22px; }
  main { max-width: 560px; padding: 40px 48px; }
  h1 { font-size: 34px; margin: 0 0 12px; }
</style></head>
<body>
  <header>Harbor Dental</header>
  <main><h1>Gentle care, close to home.</h1><p>Cleanings, check-ups and emergency visits for the whole family. Ask our assistant about opening hours.</p></main>
  ${snippet}
</body>
</html>`;

beforeAll(async () => {
  if (!hasChromium) return;
  // The widget-recovery test's agent looks orders up on a local webhook.
  app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
  const { key } = await app.newOrg();
  ownerKey = key;
  const call = async (method: string, path: string, body?: unknown) => (await app.api(method, path, { key, body })).body.data;
  const agent = await call("POST", "/api/v1/agents", {
    name: "Harbor Dental",
    greeting: "Hi! I'm Harbor Dental's assistant. How can I help?",
    handoffConfig: { transferDestination: "+16175550142" },
    businessHours: {
      timezone: "America/New_York",
      weekly: { monday: [{ start: "08:00", end: "17:00" }], wednesday: [{ start: "08:00", end: "17:00" }], friday: [{ start: "08:00", end: "13:00" }] },
      afterHours: { allowHumanTransfer: true, number: "+16175550142" },
    },
  });
  await call("POST", `/api/v1/agents/${agent.id}/publish`, {});
  await call("PUT", `/api/v1/agents/${agent.id}/widget`, {
    theme: { primaryColor: "#0f766e" },
    copy: { title: "Harbor Dental", subtitle: "Questions about visits and hours", launcherLabel: LAUNCHER, placeholder: "Ask about our hours…" },
  });
  let html = "";
  allowed = servePage(() => html);
  refused = servePage(() => html);
  await call("POST", `/api/v1/agents/${agent.id}/publishable-keys`, { name: "Website", allowedOrigins: [allowed.origin] });
  const { scriptSnippet } = await call("GET", `/api/v1/agents/${agent.id}/widget/embed`);
  // The snippet names PUBLIC_BASE_URL; this test server listens on an ephemeral port instead.
  html = sitePage(scriptSnippet.replace(app.config.publicBaseUrl, app.url));
  browser = await launchChromium();
});

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  allowed?.stop();
  refused?.stop();
  await app?.stop();
});

async function openPage(origin: string) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  const warnings: string[] = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "warning") warnings.push(message.text());
  });
  await page.goto(origin);
  return { page, problems, warnings };
}

/** The conversation the page's widget holds, read over the API with the visitor token it kept in sessionStorage. */
async function transcriptIn(page: Page, origin: string) {
  const { key, session } = await page.evaluate(() => {
    const name = Object.keys(sessionStorage).find((k) => k.startsWith("flowyte-widget:"))!;
    return { key: document.querySelector("script[data-flowyte-key]")!.getAttribute("data-flowyte-key")!, session: JSON.parse(sessionStorage.getItem(name)!) };
  });
  const res = await app.api("GET", `/api/v1/chat/widget/sessions/${session.conversationId}/messages?visitorToken=${encodeURIComponent(session.visitorToken)}`, {
    key,
    headers: { origin },
  });
  expect(res.status).toBe(200);
  return res.body.data.messages as { role: string; content: string }[];
}

/**
 * A reverse proxy in front of the server that breaks the next message stream the way a dropped connection does:
 * `mid-turn` passes the first delta frame, then closes both sides (the server sees its client go while the turn
 * runs); `after-turn` lets the server finish the turn but passes only that first frame to the browser.
 */
function startCuttingProxy(target: string) {
  let next: "mid-turn" | "after-turn" | null = null;
  const cuts: string[] = [];
  const requests: { method: string; path: string; body: any }[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    // A broken stream is the point here, not a failure worth printing.
    development: false,
    error: () => new Response(null, { status: 502 }),
    async fetch(req) {
      // It passes no WebSockets (as some proxies do not), so the widget behind it talks HTTP, whose recovery this is.
      if (req.headers.get("upgrade")) return new Response(null, { status: 502 });
      const url = new URL(req.url);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.text();
      requests.push({ method: req.method, path: url.pathname, body: body ? JSON.parse(body) : null });
      const headers = new Headers(req.headers);
      headers.delete("host");
      const upstreamAbort = new AbortController();
      const upstream = await fetch(target + url.pathname + url.search, { method: req.method, headers, body, signal: upstreamAbort.signal });
      const answerHeaders = new Headers(upstream.headers);
      answerHeaders.delete("content-length");
      answerHeaders.delete("content-encoding");
      const mode = next;
      if (!mode || req.method !== "POST" || !url.pathname.endsWith("/messages") || !upstream.body) {
        return new Response(upstream.body, { status: upstream.status, headers: answerHeaders });
      }
      next = null;
      cuts.push(mode);
      const reader = upstream.body.getReader();
      const decoder = new TextDecoder();
      const broken = new ReadableStream<Uint8Array>({
        async start(controller) {
          let seen = "";
          while (!seen.includes("event:delta")) {
            const { value, done } = await reader.read();
            if (done) break;
            seen += decoder.decode(value, { stream: true });
          }
          const firstFrame = seen.slice(0, seen.indexOf("\n\n") + 2);
          controller.enqueue(new TextEncoder().encode(firstFrame));
          if (mode === "after-turn") while (!(await reader.read()).done);
          else upstreamAbort.abort();
          await Bun.sleep(50);
          controller.error(new Error("connection lost"));
        },
      });
      return new Response(broken, { status: upstream.status, headers: answerHeaders });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    cuts,
    cutNext(mode: "mid-turn" | "after-turn") {
      next = mode;
    },
    stop: () => server.stop(true),
  };
}

/** The page's widget sockets, and the frames each way, read as JSON. */
type Json = Record<string, unknown>;

function watchSockets(page: Page) {
  const sockets: { url: string; sent: Json[]; received: Json[]; closed: boolean }[] = [];
  page.on("websocket", (ws) => {
    const socket = { url: ws.url(), sent: [] as Json[], received: [] as Json[], closed: false };
    sockets.push(socket);
    ws.on("framesent", (f) => socket.sent.push(JSON.parse(String(f.payload))));
    ws.on("framereceived", (f) => socket.received.push(JSON.parse(String(f.payload))));
    ws.on("close", () => (socket.closed = true));
  });
  return sockets;
}

/** Message POSTs the page makes (the HTTP transport). */
function watchMessagePosts(page: Page) {
  const posts: Json[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().endsWith("/messages")) posts.push(r.postDataJSON());
  });
  return posts;
}

/** The element focused inside the widget's shadow root. */
const focusedInWidget = (page: Page) => page.evaluate(() => document.querySelector("flowyte-chat")?.shadowRoot?.activeElement?.className ?? null);

describe.skipIf(!hasChromium)("the embeddable widget in Chromium", () => {
  it(
    "opens from the keyboard, streams the agent's answer over the WebSocket, closes with Escape and keeps the conversation across a reload",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
      const sockets = watchSockets(page);
      const posts = watchMessagePosts(page);
      const launcher = page.getByRole("button", { name: LAUNCHER });
      await launcher.waitFor();
      expect(await launcher.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe("rgb(15, 118, 110)");

      await launcher.focus();
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog", { name: "Harbor Dental" });
      await dialog.waitFor();
      expect(await launcher.getAttribute("aria-expanded")).toBe("true");
      expect(await focusedInWidget(page)).toBe("fw-input");
      await page.locator(".fw-bubble", { hasText: "Hi! I'm Harbor Dental's assistant. How can I help?" }).waitFor();
      expect(await page.locator("[aria-live=polite]").textContent()).toBe("Harbor Dental: Hi! I'm Harbor Dental's assistant. How can I help?");

      await page.keyboard.type("What are your opening hours?");
      await page.keyboard.press("Enter");
      const answer = page.locator(".fw-msg--assistant .fw-bubble", { hasText: "Our hours are" });
      await answer.waitFor();
      expect(await answer.textContent()).toContain("Monday 08:00 to 17:00");
      // The message and its streamed reply went over the session's socket, none of it over HTTP. (The bubble fills
      // from the deltas: wait for the final reply's announcement, then for the test's copy of its frame.)
      await page.locator("[aria-live=polite] p", { hasText: "Our hours are" }).waitFor();
      await until(() => sockets[0]?.received.some((f) => f.type === "message"), 10_000);
      expect(sockets).toHaveLength(1);
      expect(new URL(sockets[0]!.url).pathname).toMatch(/^\/api\/v1\/chat\/widget\/sessions\/conv_\w+\/socket$/);
      expect(sockets[0]!.sent).toEqual([{ type: "message", content: "What are your opening hours?", clientMessageId: expect.any(String) }]);
      expect(sockets[0]!.received.map((f) => f.type)).toEqual(["ready", ...sockets[0]!.received.slice(1, -1).map(() => "delta"), "message"]);
      expect(sockets[0]!.received.length).toBeGreaterThan(2);
      expect(posts).toEqual([]);
      expect(await page.locator(".fw-msg--user .fw-bubble").allTextContents()).toEqual(["What are your opening hours?"]);

      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      expect(await launcher.getAttribute("aria-expanded")).toBe("false");
      expect(await focusedInWidget(page)).toBe("fw-launcher");

      await page.reload();
      await page.getByRole("button", { name: LAUNCHER }).click();
      await page.locator(".fw-msg--assistant .fw-bubble", { hasText: "Our hours are" }).waitFor();
      expect(await page.locator(".fw-msg--user .fw-bubble").allTextContents()).toEqual(["What are your opening hours?"]);
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 45_000 },
  );

  it(
    "answers in the theme's colours and copy (the screenshot in docs/widget.png)",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
      await page.getByRole("button", { name: LAUNCHER }).click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("Can I speak with someone at the front desk?");
      await page.keyboard.press("Enter");
      await page.locator(".fw-bubble", { hasText: "You can reach a member of our team at +16175550142" }).waitFor();
      expect(await page.getByRole("heading", { name: "Harbor Dental" }).isVisible()).toBe(true);
      expect(await page.getByText("Questions about visits and hours").isVisible()).toBe(true);
      expect(await page.getByRole("textbox", { name: "Message" }).getAttribute("placeholder")).toBe("Ask about our hours…");
      await page.mouse.move(0, 0);
      // An answer that does not depend on the time of day, so the picture only changes when the widget does.
      await page.screenshot({ path: SCREENSHOT, animations: "disabled", caret: "hide" });
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 30_000 },
  );

  it(
    "offers Retry only when recovery fails too (no attempt reaches the server), and the Retry delivers the message once",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
      // No WebSocket here (as behind a proxy that refuses upgrades): the messages go over HTTP.
      await page.routeWebSocket(/\/socket\?/, (ws) => ws.close());
      await page.getByRole("button", { name: LAUNCHER }).click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      // Every send breaks before it reaches the server: a delta arrives, the rest never does.
      let cut = 0;
      await page.route("**/api/v1/chat/widget/sessions/*/messages", (route) => {
        if (route.request().method() !== "POST") return route.continue();
        cut++;
        return route.fulfill({
          status: 200,
          headers: { "content-type": "text/event-stream", "access-control-allow-origin": allowed.origin },
          body: 'event:delta\ndata:{"text":"We\'re "}\n\n',
        });
      });
      await page.getByRole("textbox", { name: "Message" }).fill("When are you open on Friday?");
      await page.keyboard.press("Enter");
      const retry = page.getByRole("button", { name: "Retry" });
      await retry.waitFor();
      // The first send, then one resend for each recovery attempt that found nothing in the transcript.
      expect(cut).toBe(5);
      expect(await page.locator(".fw-msg--assistant .fw-bubble", { hasText: "We're" }).count()).toBe(0);
      await page.unroute("**/api/v1/chat/widget/sessions/*/messages");
      await retry.click();
      await page.locator(".fw-msg--assistant .fw-bubble", { hasText: "Friday 08:00 to 13:00" }).waitFor();
      expect(await retry.count()).toBe(0);
      expect(await page.locator(".fw-msg--user .fw-bubble").allTextContents()).toEqual(["When are you open on Friday?"]);
      const transcript = await transcriptIn(page, allowed.origin);
      expect(transcript.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["When are you open on Friday?"]);
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 30_000 },
  );

  it(
    "falls back to HTTP when the WebSocket is blocked, and stays on it for the page",
    async () => {
      const { page, problems, warnings } = await openPage(allowed.origin);
      let attempts = 0;
      await page.routeWebSocket(/\/socket\?/, (ws) => {
        attempts++;
        return ws.close({ code: 1008, reason: "blocked" });
      });
      const posts = watchMessagePosts(page);
      await page.getByRole("button", { name: LAUNCHER }).click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("When are you open on Wednesday?");
      await page.keyboard.press("Enter");
      await page.locator("[aria-live=polite] p", { hasText: "Wednesday 08:00 to 17:00" }).waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("Can I speak with someone at the front desk?");
      await page.keyboard.press("Enter");
      await page.locator("[aria-live=polite] p", { hasText: "You can reach a member of our team" }).waitFor();

      expect(attempts).toBe(1);
      expect(posts.map((p) => [p.content, p.stream])).toEqual([
        ["When are you open on Wednesday?", true],
        ["Can I speak with someone at the front desk?", true],
      ]);
      expect(warnings.some((w) => w.includes("[Flowyte] the chat socket is unavailable"))).toBe(true);
      const transcript = await transcriptIn(page, allowed.origin);
      expect(transcript.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["When are you open on Wednesday?", "Can I speak with someone at the front desk?"]);
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 30_000 },
  );

  it(
    "sends a message again over HTTP under the same id when the socket is lost mid-reply, and the agent answers it once",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
      // The socket goes through the test, which drops it (both sides) after the reply's first delta.
      let cut = false;
      await page.routeWebSocket(/\/socket\?/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((message) => server.send(message));
        server.onMessage((message) => {
          ws.send(message);
          if (!cut && JSON.parse(String(message)).type === "delta") {
            cut = true;
            ws.close({ code: 4000, reason: "network lost" });
            server.close();
          }
        });
      });
      const sockets = watchSockets(page);
      const posts = watchMessagePosts(page);
      await page.getByRole("button", { name: LAUNCHER }).click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("What are your opening hours?");
      await page.keyboard.press("Enter");
      await page.locator("[aria-live=polite] p", { hasText: "Our hours are" }).waitFor();

      expect(cut).toBe(true);
      const sent = sockets[0]!.sent;
      expect(sent).toHaveLength(1);
      expect(posts).toEqual([expect.objectContaining({ content: "What are your opening hours?", clientMessageId: sent[0]!.clientMessageId })]);
      expect(await page.locator(".fw-msg--assistant .fw-bubble", { hasText: "Our hours are" }).count()).toBe(1);
      const transcript = await transcriptIn(page, allowed.origin);
      expect(transcript.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["What are your opening hours?"]);
      expect(transcript.filter((m) => m.role === "assistant" && m.content.includes("Our hours are"))).toHaveLength(1);
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 30_000 },
  );

  it(
    "opens the socket again for the next message when an idle one was closed, without falling back to HTTP",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
      // The first socket is cut (as by a proxy's idle timeout) once its reply is through; the next one is left alone.
      let connections = 0;
      await page.routeWebSocket(/\/socket\?/, (ws) => {
        connections++;
        const server = ws.connectToServer();
        if (connections > 1) return;
        server.onMessage((message) => {
          ws.send(message);
          if (JSON.parse(String(message)).type === "message") {
            ws.close({ code: 1001, reason: "idle" });
            server.close();
          }
        });
      });
      const posts = watchMessagePosts(page);
      await page.getByRole("button", { name: LAUNCHER }).click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("When are you open on Wednesday?");
      await page.keyboard.press("Enter");
      await page.locator("[aria-live=polite] p", { hasText: "Wednesday 08:00 to 17:00" }).waitFor();
      // The widget has seen the idle socket close (it drops its channel) before the visitor writes again.
      await page.waitForFunction(() => (document.querySelector("flowyte-chat") as unknown as { channel: unknown }).channel === null);
      await page.getByRole("textbox", { name: "Message" }).fill("Can I speak with someone at the front desk?");
      await page.keyboard.press("Enter");
      await page.locator("[aria-live=polite] p", { hasText: "You can reach a member of our team" }).waitFor();

      expect(connections).toBe(2);
      expect(posts).toEqual([]);
      const transcript = await transcriptIn(page, allowed.origin);
      expect(transcript.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["When are you open on Wednesday?", "Can I speak with someone at the front desk?"]);
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 30_000 },
  );

  describe("recovering from a connection that drops mid-reply", () => {
    let lookups: ReturnType<typeof startWebhookTarget>;
    let proxy: ReturnType<typeof startCuttingProxy>;
    let site: ReturnType<typeof servePage>;

    beforeAll(async () => {
      lookups = startWebhookTarget(() => ({ status: "shipped" }), 1000);
      const b = agentBuilder(app, ownerKey);
      const agent = await b.agent({ name: "Parcel desk", greeting: "Hi! Ask me about your order." });
      await b.skill(agent.id, orderStatusSkill(lookups.url, 10000));
      await b.publish(agent.id);
      await b.call("PUT", `/api/v1/agents/${agent.id}/widget`, { copy: { title: "Parcel desk", launcherLabel: "Chat with Parcel desk" } });
      proxy = startCuttingProxy(app.url);
      let html = "";
      site = servePage(() => html);
      await b.call("POST", `/api/v1/agents/${agent.id}/publishable-keys`, { name: "Shop", allowedOrigins: [site.origin] });
      const { scriptSnippet } = await b.call("GET", `/api/v1/agents/${agent.id}/widget/embed`);
      // The browser reaches the server through a proxy that can break a reply's stream.
      html = sitePage(scriptSnippet.replace(app.config.publicBaseUrl, proxy.url));
    });
    afterAll(() => {
      lookups?.stop();
      proxy?.stop();
      site?.stop();
    });

    async function openParcelDesk() {
      const opened = await openPage(site.origin);
      await opened.page.getByRole("button", { name: "Chat with Parcel desk" }).click();
      await opened.page.locator(".fw-bubble", { hasText: "Ask me about your order." }).waitFor();
      return opened;
    }

    it(
      "waits out a turn still running when the stream broke: the reply appears once and the lookup ran once",
      async () => {
        const { page, problems } = await openParcelDesk();
        proxy.cutNext("mid-turn");
        proxy.requests.length = 0;
        await page.getByRole("textbox", { name: "Message" }).fill("check the delivery status of my order");
        await page.keyboard.press("Enter");
        await page.locator("[aria-live=polite] p", { hasText: "Here's what I found. status: shipped." }).waitFor();

        expect(proxy.cuts).toEqual(["mid-turn"]);
        // It read the transcript (the turn had not finished) and sent the message again under the same id.
        const posts = proxy.requests.filter((r) => r.method === "POST");
        expect(posts).toHaveLength(2);
        expect(posts[1]!.body.clientMessageId).toBe(posts[0]!.body.clientMessageId);
        expect(proxy.requests.some((r) => r.method === "GET" && r.path.endsWith("/messages"))).toBe(true);
        expect(lookups.calls).toHaveLength(1);

        expect(await page.locator(".fw-msg--assistant .fw-bubble").allTextContents()).toEqual([
          "Hi! Ask me about your order.",
          "One moment while I check that.",
          "Here's what I found. status: shipped.",
        ]);
        expect(await page.getByRole("button", { name: "Retry" }).count()).toBe(0);
        const transcript = await transcriptIn(page, site.origin);
        expect(transcript.map((m) => [m.role, m.content])).toEqual([
          ["assistant", "Hi! Ask me about your order."],
          ["user", "check the delivery status of my order"],
          ["assistant", "One moment while I check that."],
          ["assistant", "Here's what I found. status: shipped."],
        ]);
        expect(problems).toEqual([]);
        await page.close();
      },
      { timeout: 30_000 },
    );

    it(
      "shows the reply from the transcript when the server had finished the turn, without sending the message again",
      async () => {
        const { page, problems } = await openParcelDesk();
        proxy.cutNext("after-turn");
        proxy.requests.length = 0;
        await page.getByRole("textbox", { name: "Message" }).fill("Do you ship abroad?");
        await page.keyboard.press("Enter");
        // Replies are announced once they are final (the streamed first words are not).
        await page.locator("[aria-live=polite] p", { hasText: "I'm sorry, I don't know the answer to that." }).waitFor();

        expect(proxy.cuts).toEqual(["mid-turn", "after-turn"]);
        expect(proxy.requests.filter((r) => r.method === "POST")).toHaveLength(1);
        expect(proxy.requests.filter((r) => r.method === "GET" && r.path.endsWith("/messages"))).toHaveLength(1);
        expect(await page.locator(".fw-msg--assistant .fw-bubble", { hasText: "I'm sorry, I don't know the answer to that." }).count()).toBe(1);
        const transcript = await transcriptIn(page, site.origin);
        expect(transcript.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["Do you ship abroad?"]);
        expect(problems).toEqual([]);
        await page.close();
      },
      { timeout: 30_000 },
    );
  });

  it(
    "closes an ended conversation and starts a new one on request",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
      const launcher = page.getByRole("button", { name: LAUNCHER });
      await launcher.click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("That's all, goodbye");
      await page.keyboard.press("Enter");
      const restart = page.getByRole("button", { name: "Start a new conversation" });
      await restart.waitFor();
      expect(await page.getByRole("textbox", { name: "Message" }).isDisabled()).toBe(true);
      expect(await focusedInWidget(page)).toBe("fw-restart");

      await page.keyboard.press("Escape");
      await launcher.click();
      expect(await restart.isVisible()).toBe(true);
      await restart.click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      expect(await page.locator(".fw-msg").count()).toBe(1);
      expect(await page.getByRole("textbox", { name: "Message" }).isEnabled()).toBe(true);
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 30_000 },
  );

  it(
    "shows a clear refusal, and logs why, on a site whose origin the key does not allow",
    async () => {
      const { page, warnings } = await openPage(refused.origin);
      await page.getByText("This chat isn't available on this site.").waitFor();
      expect(await page.getByRole("button", { name: LAUNCHER }).count()).toBe(0);
      expect(warnings.some((w) => w.includes("[Flowyte]") && w.includes("origin_not_allowed"))).toBe(true);
      await page.close();
    },
    { timeout: 20_000 },
  );
});
