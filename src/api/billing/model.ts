// TypeBox shapes of the Billing tag.
import { t } from "elysia";

export const Wallet = t.Object({
  balanceUsd: t.Number({ description: "Prepaid balance in USD (1 credit = $0.01)" }),
  autoReloadEnabled: t.Boolean({ description: "Always false here: there is no card on file to charge" }),
  autoReloadThresholdUsd: t.Union([t.Number(), t.Null()]),
  autoReloadAmountUsd: t.Union([t.Number(), t.Null()]),
});
