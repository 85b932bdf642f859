// Skill executors ("skills as tools"): one per skill type, behind the RunSkill contract of types.ts.
// The execution-config schema of each type lives beside its executor, so what the API accepts is what runs.
import type { TSchema } from "@sinclair/typebox";
import type { Config } from "../../config.ts";
import type { Sealer } from "../../platform/crypto.ts";
import { createEgressGuard } from "../../platform/egress.ts";
import type { Geocoder } from "../../platform/geo/index.ts";
import type { Logger } from "../../platform/log.ts";
import { type Metrics, traced } from "../../platform/telemetry/index.ts";
import type { IntegrationConnections } from "../../api/integrations/connections.ts";
import type { OperationSigner } from "../../api/integrations/signing.ts";
import type { SkillType } from "../compiled.ts";
import { BuiltinConfig, builtinExecutor } from "./builtin.ts";
import { EmailConfig, emailExecutor } from "./email.ts";
import { GeoConfig, geoExecutor } from "./geo.ts";
import { HttpWebhookConfig, httpWebhookExecutor } from "./http-webhook.ts";
import { INTEGRATION_CONFIGS, INTEGRATION_KINDS, integrationExecutor } from "./integration.ts";
import { KnowledgeQueryConfig, knowledgeQueryExecutor } from "./knowledge-query.ts";
import { failure } from "./outcomes.ts";
import { PlaybookConfig, playbookExecutor } from "./playbook.ts";
import { TransferConfig, transferExecutor } from "./transfer.ts";
import type { Retriever, RunSkill } from "./types.ts";

export { oneOf, unmetConditions } from "./schema.ts";
export type { HttpWebhookConfig } from "./http-webhook.ts";
export { INTEGRATION_KINDS, integrationOf, type IntegrationSkillType } from "./integration.ts";
export type { TransferConfig } from "./transfer.ts";
export type * from "./types.ts";

/** The executionConfig each skill type takes (TypeBox, i.e. JSON Schema). */
export const EXECUTION_CONFIGS: Record<SkillType, TSchema> = {
  http_webhook: HttpWebhookConfig,
  email: EmailConfig,
  transfer: TransferConfig,
  builtin: BuiltinConfig,
  geo: GeoConfig,
  playbook: PlaybookConfig,
  knowledge_query: KnowledgeQueryConfig,
  ...INTEGRATION_CONFIGS,
};

export interface SkillRunnerDeps {
  sealer: Sealer;
  /** The organization's connected integrations and the signer of compiled operations; absent = nothing connected. */
  integrations?: IntegrationConnections;
  signer?: OperationSigner;
  config: Pick<Config, "egressAllowlist" | "smtp">;
  fetch?: typeof fetch;
  retriever?: Retriever | null;
  geocoder: Geocoder;
  log: Logger;
  metrics?: Metrics;
}

export function createSkillRunner(deps: SkillRunnerDeps): RunSkill {
  const guard = createEgressGuard({ allowlist: deps.config.egressAllowlist, fetch: deps.fetch });
  const integration = integrationExecutor({ connections: deps.integrations, signer: deps.signer, log: deps.log });
  const integrations = Object.fromEntries(Object.keys(INTEGRATION_KINDS).map((type) => [type, integration])) as Record<keyof typeof INTEGRATION_KINDS, RunSkill>;
  const executors: Record<SkillType, RunSkill> = {
    http_webhook: countedWebhooks(httpWebhookExecutor({ guard, sealer: deps.sealer }), deps.metrics),
    email: emailExecutor({ smtp: deps.config.smtp }),
    transfer: transferExecutor,
    builtin: builtinExecutor,
    geo: geoExecutor({ geocoder: deps.geocoder }),
    playbook: playbookExecutor,
    knowledge_query: knowledgeQueryExecutor({ retriever: deps.retriever ?? null }),
    ...integrations,
  };
  return (skill, args, ctx) =>
    traced("skill", { "skill.id": skill.id, "skill.type": skill.skillType }, async (span) => {
      try {
        const outcome = await executors[skill.skillType](skill, args, ctx);
        span.setAttribute("skill.outcome", outcome.kind === "error" ? `error:${outcome.code}` : outcome.kind);
        return outcome;
      } catch (error) {
        // An executor answers failures as outcomes; reaching here is a bug, which must not end the conversation.
        deps.log.error("skill executor failed", { skillId: skill.id, skillType: skill.skillType, error });
        return failure("skill_failed", "the action failed unexpectedly");
      }
    });
}

/** Webhook calls by outcome: ok, timeout (no answer in time), or error (anything else that failed). */
function countedWebhooks(run: RunSkill, metrics: Metrics | undefined): RunSkill {
  if (!metrics) return run;
  return async (skill, args, ctx) => {
    const outcome = await run(skill, args, ctx);
    metrics.webhookCalls.inc({ outcome: outcome.kind !== "error" ? "ok" : outcome.code === "timeout" ? "timeout" : "error" });
    return outcome;
  };
}
