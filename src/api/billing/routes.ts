// The Billing tag: the prepaid wallet number purchases draw on. Credit is added by the operator
// (`bun run admin wallet credit`), not with an API key.
import { Elysia } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import type { ApiContext } from "../context.ts";
import { Wallet } from "./model.ts";
import { toUsd, walletBalance } from "./wallet.ts";

const tags = ["Billing"];

export function billingRoutes(ctx: ApiContext) {
  const org = (c: unknown) => (c as { principal: Principal }).principal.organizationId;

  return new Elysia({ prefix: "/api/v1" }).use(ctx.conventions).get(
    "/billing/wallet",
    async (c) => ok({ balanceUsd: toUsd(await walletBalance(ctx.database.db, org(c))), autoReloadEnabled: false, autoReloadThresholdUsd: null, autoReloadAmountUsd: null }),
    {
      scope: "billing:read",
      response: { 200: Envelope(Wallet), ...problems() },
      detail: {
        summary: "Get the wallet",
        description: "The organization's prepaid balance in USD. Number purchases debit it; the operator adds credit. Auto-reload is not available without a card on file.",
        tags,
      },
    },
  );
}
