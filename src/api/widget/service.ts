// Widget configuration (theme, copy, behavior) per agent, the embed snippet, and the public bootstrap a browser reads.
// The configuration is not versioned: a saved change reaches every embedded widget on its next page load.
import { and, eq } from "drizzle-orm";
import type { PublishableKeyGrant } from "../../platform/auth/principal.ts";
import type { Database } from "../../platform/db/index.ts";
import { widgetConfigs } from "../../platform/db/schema/index.ts";
import { Problem } from "../../platform/http/problem.ts";
import type { AgentsService } from "../agents/service.ts";
import type { PublishableKeysService } from "../publishable-keys/service.ts";
import { WIDGET_DEFAULTS, type WidgetConfigDto, type WidgetConfigInputDto } from "./model.ts";

/** Every field present: what was given, else its default. Stored configs go through it too, for fields added later. */
export function withDefaults(input: WidgetConfigInputDto): WidgetConfigDto {
  return {
    theme: { ...WIDGET_DEFAULTS.theme, ...input.theme },
    copy: { ...WIDGET_DEFAULTS.copy, ...input.copy },
    behavior: { ...WIDGET_DEFAULTS.behavior, ...input.behavior },
  };
}

export class WidgetService {
  constructor(
    private database: Database,
    private agents: AgentsService,
    private keys: PublishableKeysService,
    private publicBaseUrl: string,
  ) {}

  async getConfig(organizationId: string, agentId: string): Promise<WidgetConfigDto> {
    await this.agents.get(organizationId, agentId);
    const [row] = await this.database.db
      .select({ config: widgetConfigs.config })
      .from(widgetConfigs)
      .where(and(eq(widgetConfigs.agentId, agentId), eq(widgetConfigs.organizationId, organizationId)))
      .limit(1);
    return withDefaults((row?.config ?? {}) as WidgetConfigInputDto);
  }

  async replaceConfig(organizationId: string, agentId: string, input: WidgetConfigInputDto): Promise<WidgetConfigDto> {
    await this.agents.get(organizationId, agentId);
    const config = withDefaults(input);
    const stored = config as unknown as Record<string, unknown>;
    await this.database.db
      .insert(widgetConfigs)
      .values({ agentId, organizationId, config: stored })
      .onConflictDoUpdate({ target: widgetConfigs.agentId, set: { config: stored, updatedAt: new Date() } });
    return config;
  }

  async embed(organizationId: string, agentId: string, publishableKeyId: string | undefined) {
    const key = publishableKeyId ? await this.keys.get(organizationId, agentId, publishableKeyId) : await this.keys.firstActive(organizationId, agentId);
    if (!key) throw new Problem(409, "no_publishable_key", "this agent has no active publishable key; create one with POST /agents/{id}/publishable-keys");
    if (key.status === "revoked") throw new Problem(409, "key_revoked", "this publishable key is revoked; embed an active one");
    const scriptSnippet = `<script src="${this.publicBaseUrl}/widget/loader.js" data-flowyte-key="${key.keyPublic}" async></script>`;
    return { scriptSnippet, publishableKey: key };
  }

  /** What a browser may know: the agent's id and name and its widget configuration, nothing else. */
  async bootstrap(organizationId: string, grant: PublishableKeyGrant) {
    const agent = await this.agents.get(organizationId, grant.agentId);
    return {
      agentId: agent.id,
      agentName: agent.name,
      widget: await this.getConfig(organizationId, grant.agentId),
      requireIdentityVerification: grant.requireIdentityVerification,
    };
  }
}
