// The embeddable widget in a real browser: a customer's page on an allowed origin embeds the snippet, a visitor
// opens the chat with the keyboard, asks a question and reads the streamed answer; the same page on another
// origin shows the refusal. Writes docs/widget.png, the open widget as a visitor sees it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startTestApp, type TestApp } from "../support/app.ts";
import { hasChromium, launchChromium, servePage } from "../support/browser.ts";

if (!hasChromium) console.warn("test/web: /usr/bin/chromium is missing, so the widget's browser tests are skipped (apt-get install -y chromium)");

const SCREENSHOT = join(import.meta.dir, "../../docs/widget.png");
const LAUNCHER = "Chat with Harbor Dental";

let app: TestApp;
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
  app = await startTestApp();
  const { key } = await app.newOrg();
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

/** The element focused inside the widget's shadow root. */
const focusedInWidget = (page: Page) => page.evaluate(() => document.querySelector("flowyte-chat")?.shadowRoot?.activeElement?.className ?? null);

describe.skipIf(!hasChromium)("the embeddable widget in Chromium", () => {
  it(
    "opens from the keyboard, streams the agent's answer, closes with Escape and keeps the conversation across a reload",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
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

      const streamed = page.waitForResponse((r) => r.url().endsWith("/messages") && r.request().method() === "POST");
      await page.keyboard.type("What are your opening hours?");
      await page.keyboard.press("Enter");
      const response = await streamed;
      expect(response.headers()["content-type"]).toContain("text/event-stream");
      const answer = page.locator(".fw-msg--assistant .fw-bubble", { hasText: "Our hours are" });
      await answer.waitFor();
      expect(await answer.textContent()).toContain("Monday 08:00 to 17:00");
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
    "offers Retry when a reply is cut off mid-stream, and resends",
    async () => {
      const { page, problems } = await openPage(allowed.origin);
      await page.getByRole("button", { name: LAUNCHER }).click();
      await page.locator(".fw-bubble", { hasText: "How can I help?" }).waitFor();
      // The connection drops after the first words: a delta arrives, the rest never does.
      await page.route("**/api/v1/chat/widget/sessions/*/messages", (route) =>
        route.request().method() === "POST"
          ? route.fulfill({
              status: 200,
              headers: { "content-type": "text/event-stream", "access-control-allow-origin": allowed.origin },
              body: 'event:delta\ndata:{"text":"We\'re "}\n\n',
            })
          : route.continue(),
      );
      await page.getByRole("textbox", { name: "Message" }).fill("When are you open on Friday?");
      await page.keyboard.press("Enter");
      const retry = page.getByRole("button", { name: "Retry" });
      await retry.waitFor();
      await page.unroute("**/api/v1/chat/widget/sessions/*/messages");
      await retry.click();
      await page.locator(".fw-msg--assistant .fw-bubble", { hasText: "Friday 08:00 to 13:00" }).waitFor();
      expect(await retry.count()).toBe(0);
      expect(await page.locator(".fw-msg--user .fw-bubble").allTextContents()).toEqual(["When are you open on Friday?"]);
      expect(problems).toEqual([]);
      await page.close();
    },
    { timeout: 30_000 },
  );

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
