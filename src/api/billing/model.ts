// TypeBox shapes of the Billing tag.
import { Type } from "@sinclair/typebox";
import { t } from "elysia";

export const Wallet = t.Object({
  balanceUsd: t.Number({ description: "Prepaid balance in USD (1 credit = $0.01)" }),
  autoReloadEnabled: t.Boolean({ description: "Always false here: there is no card on file to charge" }),
  autoReloadThresholdUsd: t.Union([t.Number(), t.Null()]),
  autoReloadAmountUsd: t.Union([t.Number(), t.Null()]),
}, { $id: "Wallet" });

/** A date range: ISO 8601 date-times, or plain dates (YYYY-MM-DD, UTC; a plain `to` takes in that whole day). */
const RangeQuery = {
  from: t.Optional(t.String({ maxLength: 40, description: "Usage at or after this time: an ISO 8601 date-time, or a date (YYYY-MM-DD, from 00:00 UTC)" })),
  to: t.Optional(t.String({ maxLength: 40, description: "Usage at or before this time: an ISO 8601 date-time, or a date (YYYY-MM-DD, through the end of that day, UTC)" })),
};

export const UsageItemsQuery = RangeQuery;
export const DailyUsageQuery = {
  ...RangeQuery,
  agentId: t.Optional(t.String({ maxLength: 64, description: "Only this agent's usage" })),
};

export const UsageChannel = t.Union([t.Literal("voice"), t.Literal("chat"), t.Literal("transfer_minute"), t.Literal("number")]);

export const UsageItem = t.Object({
  id: t.String(),
  time: t.String({ format: "date-time", description: "When the usage happened: the conversation's end (a chat still open: its latest message)" }),
  type: t.Union([t.Literal("call"), t.Literal("chat"), t.Literal("transfer"), t.Literal("number")], { description: "What the charge is for: a call, a chat, a forwarded-transfer-minute block or a number" }),
  channel: UsageChannel,
  quantity: t.Number({ description: "Metered units: voice minutes (rounded up per call), chat messages exchanged" }),
  credits: Type.Integer({ description: "Credits charged (1 credit = $0.01)" }),
  description: t.String(),
  agentId: t.Union([t.String(), t.Null()]),
  conversationId: t.Union([t.String(), t.Null()]),
}, { $id: "UsageItem" });

export const DailyUsage = t.Object({
  date: t.String({ format: "date", description: "The UTC day" }),
  agentId: t.Union([t.String(), t.Null()], { description: "The agent whose usage this is; null for charges of no agent" }),
  minutes: t.Number({ description: "Voice minutes (and forwarded-transfer minutes, once those are metered)" }),
  chatMessages: t.Number({ description: "Chat messages exchanged" }),
  credits: Type.Integer({ description: "Credits charged (1 credit = $0.01)" }),
  costUsd: t.Number({ description: "credits / 100" }),
}, { $id: "DailyUsage" });
