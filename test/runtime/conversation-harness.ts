// Drives the conversation runtime directly, as a channel does, on the app's real storage and the real skill
// executors (webhooks go to a local endpoint on loopback). Each conversation collects its receipt as it streams.
import { randomBytes } from "node:crypto";
import { defaultConfig } from "../../src/api/agents/config.ts";
import { createSealer } from "../../src/platform/crypto.ts";
import { offlineGeocoder } from "../../src/platform/geo/index.ts";
import { createLogger } from "../../src/platform/log.ts";
import type { CompiledConfig, CompiledSkill, SkillType } from "../../src/runtime/compiled.ts";
import { ConversationRuntime, type Channel, type RuntimeDeps, type RuntimeInput, type TurnResult } from "../../src/runtime/conversation.ts";
import type { AuditEvent } from "../../src/runtime/receipt.ts";
import { ConversationStore } from "../../src/runtime/store.ts";
import { createSkillRunner } from "../../src/runtime/tools/index.ts";
import { startWebhookTarget } from "../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { compiledSkill } from "../support/skills-compiled.ts";

export interface Harness {
  app: TestApp;
  organizationId: string;
  agentId: string;
  webhook: ReturnType<typeof startWebhookTarget>;
  stop(): Promise<void>;
}

/** One app (storage), one agent row for conversations to belong to, one local webhook endpoint. */
export async function startHarness(answer: Parameters<typeof startWebhookTarget>[0]): Promise<Harness> {
  const app = await startTestApp();
  const org = await app.newOrg();
  const agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Runtime rules" } })).body.data.id;
  const webhook = startWebhookTarget(answer);
  return {
    app,
    organizationId: org.organizationId,
    agentId,
    webhook,
    async stop() {
      await app.stop();
      webhook.stop();
    },
  };
}

export function compiled(agent: Partial<CompiledConfig["agent"]> = {}, rest: Partial<CompiledConfig> = {}): CompiledConfig {
  return { agent: { name: "Runtime rules", ...defaultConfig(), ...agent }, skills: [], playbooks: [], guardrails: [], callerVerification: [], ...rest };
}

/** A skill as an agent version compiles it; its id is `skl_<name>`. */
export function skill(name: string, description: string, skillType: SkillType, executionConfig: Record<string, unknown> = {}, overrides: Partial<CompiledSkill> = {}): CompiledSkill {
  return compiledSkill(skillType, executionConfig, { id: `skl_${name}`, name, description, ...overrides });
}

/** An http_webhook skill posting to the harness endpoint's `path`. */
export function webhookSkill(h: Harness, name: string, description: string, path: string, overrides: Partial<CompiledSkill> = {}, config: Record<string, unknown> = {}): CompiledSkill {
  return skill(name, description, "http_webhook", { url: `${h.webhook.url}${path}`, method: "POST", timeout_ms: 2000, ...config }, overrides);
}

const log = createLogger("error", () => {});
const runSkill = createSkillRunner({ sealer: createSealer(randomBytes(32)), config: { egressAllowlist: ["127.0.0.1"], smtp: null }, geocoder: offlineGeocoder(), log });

export function runtime(h: Harness, c: CompiledConfig, overrides: Partial<RuntimeDeps> = {}) {
  return new ConversationRuntime({
    store: new ConversationStore(h.app.server.database.db),
    runSkill,
    llm: null,
    retriever: null,
    loadCompiled: async () => c,
    log,
    ...overrides,
  });
}

export class Talk {
  readonly events: AuditEvent[] = [];
  readonly greeting: string[];
  private sink = { event: (e: AuditEvent) => this.events.push(e) };

  constructor(
    private rt: ConversationRuntime,
    private h: Harness,
    readonly id: string,
    start: TurnResult,
  ) {
    this.greeting = start.replies.map((r) => r.text);
  }

  /** One turn; the whole result. */
  send(input: RuntimeInput): Promise<TurnResult> {
    return this.rt.turn(this.h.organizationId, this.id, input, this.sink);
  }

  /** What the agent says back to one utterance. */
  async ask(text: string, language?: string): Promise<string[]> {
    return (await this.send({ type: "text", text, ...(language ? { language } : {}) })).replies.map((r) => r.text);
  }

  payloads(eventType: AuditEvent["eventType"]): Record<string, any>[] {
    return this.events.filter((e) => e.eventType === eventType).map((e) => e.payload);
  }

  guardrails(): Record<string, any>[] {
    return this.payloads("guardrail");
  }
}

/** A conversation opened as a channel opens one; the caller's number is +14155550199 unless `callerNumber` says otherwise. */
export async function talk(rt: ConversationRuntime, h: Harness, c: CompiledConfig, channel: Channel = "chat", opts: { callerNumber?: string | null } = {}): Promise<Talk> {
  const events: AuditEvent[] = [];
  const callerNumber = opts.callerNumber === undefined ? "+14155550199" : opts.callerNumber;
  const start = await rt.start(
    { organizationId: h.organizationId, agentId: h.agentId, agentVersionId: null, draftMode: true, compiled: c, channel, source: "test", callerNumber },
    { event: (e) => events.push(e) },
  );
  const t = new Talk(rt, h, start.conversationId, start);
  t.events.push(...events);
  return t;
}
