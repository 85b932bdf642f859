// Reading usage: the itemized charges and their daily sums, newest first, cursor-paginated like every list.
import { and, asc, desc, eq, gte, lte, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { usageItems } from "../../platform/db/schema/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { Problem } from "../../platform/http/problem.ts";
import { toUsd } from "./wallet.ts";

const TYPES = { voice: "call", chat: "chat", transfer_minute: "transfer", number: "number" } as const;
type Channel = keyof typeof TYPES;

export interface RangeInput {
  from?: string;
  to?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** `from`/`to` as instants: a date-time as given, a plain date from its first millisecond (from) or to its last (to). */
export function usageRange(query: RangeInput): { from: Date | null; to: Date | null } {
  const from = bound(query.from, "from", false);
  const to = bound(query.to, "to", true);
  if (from && to && from > to) throw new Problem(400, "validation_error", "to is before from", { errors: [{ field: "to", message: "must not be before from" }] });
  return { from, to };
}

function bound(value: string | undefined, field: string, endOfDay: boolean): Date | null {
  if (value === undefined) return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const day = new Date(`${value}T00:00:00.000Z`);
    // A day that does not exist (2025-02-30) parses to another one, or to nothing.
    if (!Number.isNaN(day.getTime()) && day.toISOString().startsWith(value)) return endOfDay ? new Date(day.getTime() + DAY_MS - 1) : day;
  } else if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    const instant = new Date(value);
    if (!Number.isNaN(instant.getTime())) return instant;
  }
  throw new Problem(400, "validation_error", `${field} is not a date-time`, { errors: [{ field, message: "must be an ISO 8601 date-time or a date (YYYY-MM-DD)" }] });
}

const badCursor = () => new Problem(400, "invalid_cursor", "cursor is not one this API returned", { errors: [{ field: "cursor", message: "is not a valid cursor" }] });

/** Usage items, newest first: one per call or chat (and later per forwarded-transfer block or number month). */
export async function listUsageItems(db: Db, organizationId: string, query: RangeInput & { cursor?: string; limit: number }) {
  const { from, to } = usageRange(query);
  const where: SQL[] = [eq(usageItems.organizationId, organizationId)];
  if (from) where.push(gte(usageItems.time, from));
  if (to) where.push(lte(usageItems.time, to));
  const after = decodeCursor(query.cursor);
  if (after) {
    const [time, id] = after.split("|");
    const at = new Date(time ?? "");
    if (!id || Number.isNaN(at.getTime())) throw badCursor();
    where.push(sql`(${usageItems.time}, ${usageItems.id}) < (${at.toISOString()}::timestamptz, ${id})`);
  }
  const rows = await db
    .select()
    .from(usageItems)
    .where(and(...where))
    .orderBy(desc(usageItems.time), desc(usageItems.id))
    .limit(query.limit + 1);
  return page(
    rows,
    query.limit,
    (r) => `${r.time.toISOString()}|${r.id}`,
    (r) => ({
      id: r.id,
      time: r.time.toISOString(),
      type: TYPES[r.channel as Channel],
      channel: r.channel as Channel,
      quantity: r.quantity,
      credits: r.credits,
      description: r.description,
      agentId: r.agentId,
      conversationId: r.conversationId,
    }),
  );
}

/** Usage summed per UTC day and agent, newest day first (agents in id order within a day). */
export async function listDailyUsage(db: Db, organizationId: string, query: RangeInput & { agentId?: string; cursor?: string; limit: number }) {
  const { from, to } = usageRange(query);
  // Grouped expressions carry no parameters, so the grouping and the select list match.
  const day = sql<string>`to_char(${usageItems.time} at time zone 'UTC', 'YYYY-MM-DD')`;
  const agent = sql<string>`coalesce(${usageItems.agentId}, '')`;
  const where: SQL[] = [eq(usageItems.organizationId, organizationId)];
  if (from) where.push(gte(usageItems.time, from));
  if (to) where.push(lte(usageItems.time, to));
  if (query.agentId) where.push(eq(usageItems.agentId, query.agentId));
  const after = decodeCursor(query.cursor);
  let having: SQL | undefined;
  if (after) {
    const [date, agentId] = after.split("|");
    if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date) || agentId === undefined) throw badCursor();
    having = sql`(${day} < ${date} or (${day} = ${date} and ${agent} > ${agentId}))`;
  }
  const sum = (channels: string[]) =>
    sql<number>`coalesce(sum(${usageItems.quantity}) filter (where ${usageItems.channel} in (${sql.join(
      channels.map((c) => sql.raw(`'${c}'`)),
      sql`, `,
    )})), 0)`.mapWith(Number);
  const rows = await db
    .select({
      date: day,
      agentId: agent,
      minutes: sum(["voice", "transfer_minute"]),
      chatMessages: sum(["chat"]),
      credits: sql<number>`coalesce(sum(${usageItems.credits}), 0)`.mapWith(Number),
    })
    .from(usageItems)
    .where(and(...where))
    .groupBy(day, agent)
    .having(having)
    .orderBy(desc(day), asc(agent))
    .limit(query.limit + 1);
  return page(
    rows,
    query.limit,
    (r) => `${r.date}|${r.agentId}`,
    (r) => ({ date: r.date, agentId: r.agentId || null, minutes: r.minutes, chatMessages: r.chatMessages, credits: r.credits, costUsd: toUsd(r.credits) }),
  );
}
