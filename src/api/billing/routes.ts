// The Billing tag: the prepaid wallet number purchases and metered usage draw on, and the usage read back (items and
// daily records). Credit is added by the operator (`bun run admin wallet credit`), not with an API key.
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { DEFAULT_LIMIT, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import type { ApiContext } from "../context.ts";
import { DailyUsage, DailyUsageQuery, UsageItem, UsageItemsQuery, Wallet } from "./model.ts";
import { listDailyUsage, listUsageItems } from "./usage.ts";
import { toUsd, walletBalance } from "./wallet.ts";

const tags = ["Billing"];

export function billingRoutes(ctx: ApiContext) {
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;
  const db = ctx.database.db;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get(
      "/billing/wallet",
      async (c) => ok({ balanceUsd: toUsd(await walletBalance(db, org(c))), autoReloadEnabled: false, autoReloadThresholdUsd: null, autoReloadAmountUsd: null }),
      {
        scope: "billing:read",
        response: { 200: Envelope(Wallet), ...problems() },
        detail: {
          summary: "Get the wallet",
          description: "The organization's prepaid balance in USD. Number purchases and metered usage debit it; the operator adds credit. Auto-reload is not available without a card on file.",
          tags,
        },
      },
    )
    .get("/billing/usage/items", async ({ query, ...c }) => listUsageItems(db, org(c), { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "billing:read",
      query: t.Object({ ...UsageItemsQuery, ...PageQuery }),
      response: { 200: Paginated(UsageItem), ...problems(400) },
      detail: {
        summary: "List itemized charges",
        description:
          "One item per metered call or chat (live traffic only: draftMode, simulate, probe and in-browser voice tests are never billed), newest first. " +
          "Cursor-paginated like every list here (the reference answers a plain array). A chat still open shows its messages so far and grows; " +
          "usage appears within about a minute. 400 validation_error names a bad from or to; 400 invalid_cursor.",
        tags,
      },
    })
    .get("/billing/usage", async ({ query, ...c }) => listDailyUsage(db, org(c), { ...query, limit: query.limit ?? DEFAULT_LIMIT }), {
      scope: "billing:read",
      query: t.Object({ ...DailyUsageQuery, ...PageQuery }),
      response: { 200: Paginated(DailyUsage), ...problems(400) },
      detail: {
        summary: "List daily usage records",
        description:
          "Usage summed per UTC day and agent (voice minutes, chat messages, credits and their cost in USD), newest day first, cursor-paginated. " +
          "Filters: from, to (date-times or dates) and agentId. 400 validation_error names a bad from or to; 400 invalid_cursor.",
        tags,
      },
    });
}
