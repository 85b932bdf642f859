// Meta: account capability flags and the language matrix, readable by any valid secret key.
import { Type } from "@sinclair/typebox";
import { eq } from "drizzle-orm";
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import type { Db } from "../../platform/db/index.ts";
import { organizations } from "../../platform/db/schema/index.ts";
import type { createConventions } from "../../platform/http/conventions.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { languageMatrix } from "./languages.ts";

/** What this installation can do, derived from its configuration at start. */
export interface Capabilities {
  storage: "pglite" | "postgres";
  voiceEnabled: boolean;
  outboundEnabled: boolean;
  smsEnabled: boolean;
  llmConfigured: boolean;
  rateLimitPerMinute: number;
}

const Account = t.Object({
  organizationId: t.String(),
  name: t.String(),
  plan: t.String({ description: "Always self-hosted on this appliance" }),
  flags: t.Object({ voiceEnabled: t.Boolean(), outboundEnabled: t.Boolean(), smsEnabled: t.Boolean(), llmConfigured: t.Boolean() }),
  storage: t.String(),
  limits: t.Object({ rateLimitPerMinute: Type.Integer({ description: "Per key; 0 = unlimited" }) }),
}, { $id: "Account" });

const Languages = t.Object({
  tiers: t.Array(t.String()),
  agentTypes: t.Array(t.String()),
  languages: t.Array(t.Object({ code: t.String(), name: t.String() })),
  matrix: t.Record(t.String(), t.Record(t.String(), t.Array(t.String())), { description: "tier → agent type → BCP-47 primary tags" }),
}, { $id: "LanguageMatrix" });

export function metaRoutes(conventions: ReturnType<typeof createConventions>, db: Db, capabilities: Capabilities) {
  return new Elysia({ prefix: "/api/v1" })
    .use(conventions)
    .get(
      "/meta/account",
      async (ctx) => {
        const { organizationId } = (ctx as unknown as { principal: Principal }).principal;
        const [org] = await db.select().from(organizations).where(eq(organizations.id, organizationId)).limit(1);
        const { storage, rateLimitPerMinute, ...flags } = capabilities;
        return ok({ organizationId, name: org?.name ?? "", plan: "self-hosted", flags, storage, limits: { rateLimitPerMinute } });
      },
      {
        scope: "any",
        response: { 200: Envelope(Account), ...problems() },
        detail: { summary: "Get your account info", description: "Organization and the capability flags of this installation.", tags: ["Meta"] },
      },
    )
    .get("/meta/languages", () => ok(languageMatrix()), {
      scope: "any",
      response: { 200: Envelope(Languages), ...problems() },
      detail: { summary: "Get the language capability matrix", description: "Languages available per voice tier and agent type.", tags: ["Meta"] },
    });
}
