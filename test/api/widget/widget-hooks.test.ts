// The bot-check and identity hooks an operator plugs into the widget sessions, tested with injected functions
// against the real storage, agents and runtime (nothing here reaches a network).
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { AgentsService } from "../../../src/api/agents/service.ts";
import { SessionLimiter, WidgetSessions, type WidgetHooks } from "../../../src/api/widget/sessions.ts";
import { VisitorTokens } from "../../../src/api/widget/visitor-token.ts";
import type { PublishableKeyGrant } from "../../../src/platform/auth/principal.ts";
import { createSealer } from "../../../src/platform/crypto.ts";
import { IdempotencyStore } from "../../../src/platform/http/idempotency.ts";
import { memoryRateLimitStore } from "../../../src/platform/http/rate-limit.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { ConversationRuntime } from "../../../src/runtime/conversation.ts";
import { ConversationStore } from "../../../src/runtime/store.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let organizationId: string;
let grant: PublishableKeyGrant;
const visitor = { address: "192.0.2.10", origin: "https://www.example.com" };

beforeAll(async () => {
  app = await startTestApp();
  const org = await app.newOrg();
  organizationId = org.organizationId;
  const agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Hooked" } })).body.data.id;
  await app.api("POST", `/api/v1/agents/${agentId}/publish`, { key: org.key, body: {} });
  const pk = (
    await app.api("POST", `/api/v1/agents/${agentId}/publishable-keys`, {
      key: org.key,
      body: { name: "Site", allowedOrigins: [visitor.origin], requireIdentityVerification: true },
    })
  ).body.data;
  grant = { id: pk.id, agentId, allowedOrigins: pk.allowedOrigins, rateLimitRpm: pk.rateLimitRpm, requireIdentityVerification: true };
});
afterAll(() => app.stop());

function sessionsWith(hooks: WidgetHooks) {
  const database = app.server.database;
  const log = createLogger("error", () => {});
  const agents = new AgentsService(database);
  const runtime = new ConversationRuntime({
    store: new ConversationStore(database.db),
    runSkill: async () => {
      throw new Error("no skills here");
    },
    llm: null,
    retriever: null,
    loadCompiled: (row) => agents.versionConfig(row.organizationId, row.agentId, row.agentVersionId!),
    log,
  });
  return new WidgetSessions({
    database,
    agents,
    runtime,
    tokens: new VisitorTokens(randomBytes(32)),
    hooks,
    limiter: new SessionLimiter(memoryRateLimitStore(), log),
    idempotency: new IdempotencyStore(database.db, createSealer(randomBytes(32))),
    publicBaseUrl: "http://localhost",
    log,
  });
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error) => ({ status: error.status, code: error.code }),
  );

describe("widget session hooks", () => {
  it("asks the bot verifier about every session and refuses without a token or with a rejected one", async () => {
    const seen: { token: string; address: string | null; publishableKeyId: string }[] = [];
    const sessions = sessionsWith({
      verifyBotToken: async (token, v) => {
        seen.push({ token, ...v });
        return token === "human";
      },
    });
    expect(await rejection(sessions.start(organizationId, grant, { identityToken: "id" }, visitor))).toEqual({ status: 403, code: "bot_check_required" });
    expect(await rejection(sessions.start(organizationId, grant, { turnstileToken: "robot", identityToken: "id" }, visitor))).toEqual({ status: 403, code: "bot_check_failed" });
    const session = await sessions.start(organizationId, grant, { turnstileToken: "human", identityToken: "id" }, visitor);
    expect(session.conversationId).toMatch(/^conv_/);
    expect(seen).toEqual([
      { token: "robot", address: "192.0.2.10", publishableKeyId: grant.id },
      { token: "human", address: "192.0.2.10", publishableKeyId: grant.id },
    ]);
  });

  it("records the subject an identity verifier vouches for, and refuses a token it rejects", async () => {
    const sessions = sessionsWith({ verifyIdentityToken: async (token, key) => (token === "signed:alice" && key.id === grant.id ? { subject: "alice" } : null) });
    expect(await rejection(sessions.start(organizationId, grant, {}, visitor))).toEqual({ status: 403, code: "identity_required" });
    expect(await rejection(sessions.start(organizationId, grant, { identityToken: "forged:alice" }, visitor))).toEqual({ status: 403, code: "identity_invalid" });
    const session = await sessions.start(organizationId, grant, { identityToken: "signed:alice" }, visitor);
    const [row] = await app.query<{ metadata: { identity: unknown } }>(`select metadata from conversations where id = '${session.conversationId}'`);
    expect(row!.metadata.identity).toEqual({ verified: true, subject: "alice" });
  });
});
