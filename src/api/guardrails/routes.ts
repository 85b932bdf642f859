import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import type { ApiContext } from "../context.ts";
import { CallerVerificationConfig, CallerVerificationConfigs, GuardrailPolicies, GuardrailPolicy } from "./model.ts";
import { GuardrailsService } from "./service.ts";

const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const tags = ["Guardrails"];

export function guardrailRoutes(ctx: ApiContext) {
  const guardrailsService = new GuardrailsService(ctx.database.db, ctx.config.defaultPhoneRegion);
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  const replacePolicies = {
    scope: "guardrails:write",
    params: AgentParams,
    body: GuardrailPolicies,
    parse: "json",
    response: { 200: Envelope(t.Array(GuardrailPolicy)), ...problems(400, 404, 413, 415) },
  } as const;
  const replaceVerification = {
    scope: "guardrails:write",
    params: AgentParams,
    body: CallerVerificationConfigs,
    parse: "json",
    response: { 200: Envelope(t.Array(CallerVerificationConfig)), ...problems(400, 404, 413, 415) },
  } as const;
  const policiesDescription =
    "Full overwrite of the agent's policy set: send every policy to keep (with its id), omitted ones are deleted. Each config is checked against its policyType; defaults are filled in.";
  const verificationDescription =
    "Full overwrite: send every config to keep, omitted ones are deleted. verifierSkillId must be a skill of this agent; requiredFields, tokenTtlSeconds (900) and maxAttempts (3) default per method.";

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get("/agents/:id/guardrails", async ({ params, ...c }) => ok(await guardrailsService.listPolicies(org(c), params.id)), {
      scope: "guardrails:read",
      params: AgentParams,
      response: { 200: Envelope(t.Array(GuardrailPolicy)), ...problems(404) },
      detail: { summary: "List guardrail policies", description: "The agent's policies in the order last saved.", tags },
    })
    .put("/agents/:id/guardrails", async ({ params, body, ...c }) => ok(await guardrailsService.replacePolicies(org(c), params.id, body), "Saved policies."), {
      ...replacePolicies,
      detail: { summary: "Replace guardrail policies", description: policiesDescription, tags },
    })
    .patch("/agents/:id/guardrails", async ({ params, body, ...c }) => ok(await guardrailsService.replacePolicies(org(c), params.id, body), "Saved policies."), {
      ...replacePolicies,
      detail: { summary: "Replace guardrail policies (PATCH alias)", description: `Same as PUT. ${policiesDescription}`, tags },
    })
    .get("/agents/:id/caller-verification", async ({ params, ...c }) => ok(await guardrailsService.listVerification(org(c), params.id)), {
      scope: "guardrails:read",
      params: AgentParams,
      response: { 200: Envelope(t.Array(CallerVerificationConfig)), ...problems(404) },
      detail: { summary: "Get caller verification settings", description: "How callers prove who they are before protected skills run or fields are disclosed.", tags },
    })
    .put("/agents/:id/caller-verification", async ({ params, body, ...c }) => ok(await guardrailsService.replaceVerification(org(c), params.id, body), "Saved configs."), {
      ...replaceVerification,
      detail: { summary: "Replace caller verification settings", description: verificationDescription, tags },
    })
    .patch("/agents/:id/caller-verification", async ({ params, body, ...c }) => ok(await guardrailsService.replaceVerification(org(c), params.id, body), "Saved configs."), {
      ...replaceVerification,
      detail: { summary: "Replace caller verification settings (PATCH alias)", description: `Same as PUT. ${verificationDescription}`, tags },
    });
}
