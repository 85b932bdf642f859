// The bot check of widget sessions against a siteverify endpoint, the protocol Cloudflare Turnstile and hCaptcha
// publish: POST application/x-www-form-urlencoded `secret`, `response` (the widget's token) and optional `remoteip`;
// the answer is JSON `{success: boolean, "error-codes": string[]}`. A token is good for one verification.
import { Problem } from "../../platform/http/problem.ts";
import type { Logger } from "../../platform/log.ts";
import type { WidgetHooks } from "./sessions.ts";

export interface BotCheckSettings {
  url: string;
  secret: string;
}

const TIMEOUT_MS = 5_000;
/** Error codes that mean the operator's setup is wrong, not the visitor's token: no visitor can pass until fixed. */
const SETUP_ERRORS = new Set(["missing-input-secret", "invalid-input-secret", "sitekey-secret-mismatch"]);

const unavailable = () => new Problem(503, "bot_check_unavailable", "the bot check could not be completed right now; try again in a moment", { headers: { "retry-after": "5" } });

/** `verifyBotToken` for WidgetSessions: true when siteverify accepts the token; a 503 problem when it cannot say. */
export function siteverifyBotCheck(settings: BotCheckSettings, log: Logger, fetchImpl: typeof fetch = fetch): NonNullable<WidgetHooks["verifyBotToken"]> {
  return async (token, visitor) => {
    const form = new URLSearchParams({ secret: settings.secret, response: token });
    if (visitor.address) form.set("remoteip", visitor.address);
    let answer: { success?: unknown; "error-codes"?: unknown };
    try {
      const res = await fetchImpl(settings.url, { method: "POST", body: form, signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!res.ok) throw new Error(`siteverify answered HTTP ${res.status}`);
      answer = (await res.json()) as typeof answer;
    } catch (error) {
      log.warn("widget bot check unavailable", { url: settings.url, error: error instanceof Error ? error.message : String(error) });
      throw unavailable();
    }
    if (answer.success === true) return true;
    const codes = Array.isArray(answer["error-codes"]) ? answer["error-codes"].filter((c): c is string => typeof c === "string") : [];
    if (codes.some((c) => SETUP_ERRORS.has(c)) || codes.includes("internal-error")) {
      log.error("widget bot check refused this server's request: check WIDGET_BOT_CHECK_SECRET", { url: settings.url, errorCodes: codes });
      throw unavailable();
    }
    log.debug("widget bot check failed", { publishableKeyId: visitor.publishableKeyId, errorCodes: codes });
    return false;
  };
}

/** The widget hooks this server's configuration turns on. */
export function configuredWidgetHooks(config: { widgetBotCheck: BotCheckSettings | null }, log: Logger): WidgetHooks {
  return config.widgetBotCheck ? { verifyBotToken: siteverifyBotCheck(config.widgetBotCheck, log) } : {};
}
