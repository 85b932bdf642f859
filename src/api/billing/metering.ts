// Usage metering: turns live conversations into usage items, and their credits into wallet debits, apart from the
// runtime. A pg-boss cron runs `meterUsage` every minute (and once at start); each run reads what changed since the
// last one — conversations that ended, and messages sent — and brings each such conversation's usage item up to date:
//   voice: ceil(connected seconds / 60) minutes from startedAt to endedAt, once the call has ended;
//   chat:  every message in the transcript (the caller's and the agent's, the greeting included), as they are
//          exchanged: OpenAI-compatible and widget conversations have no end, so a chat's item grows with it.
// Only live traffic is metered: sources chat, widget, openai and voice, never a draftMode conversation, nor a
// simulate run, a probe run or an in-browser voice test (talk). Transfer minutes are not metered yet: a handoff
// event records where the caller was sent, and the call ends when the transfer connects, but nothing records how long
// the forwarded leg lasted.
//
// Idempotent and crash-safe: (conversationId, channel) is unique, an item only ever grows by what it does not already
// count, and the item's change and its wallet debit are one transaction. Runs may overlap (replicas, a run at start):
// each change is a conditional insert or update, so the second finds the work done and moves nothing.
import { and, eq, gte, inArray, sql } from "drizzle-orm";
import type { UsageRates } from "../../config.ts";
import type { Db } from "../../platform/db/index.ts";
import { conversationMessages, conversations, meteringCheckpoints, usageItems } from "../../platform/db/schema/index.ts";
import { firstIdAt, newId } from "../../platform/ids.ts";
import type { Jobs } from "../../platform/jobs/index.ts";
import type { Logger } from "../../platform/log.ts";
import { debitWalletUpTo } from "./wallet.ts";

/** Sources whose conversations are billed; everything else is test traffic. */
const LIVE_SOURCES = ["chat", "widget", "openai", "voice"] as const;
/**
 * How far before the checkpoint each run reads again. A turn is stored when it finishes, so its messages (whose ids
 * carry the time they were said) and its end can be committed a while after that time; recounting is harmless.
 */
const OVERLAP_MS = 10 * 60 * 1000;
/** Conversations whose details are read in one query. */
const BATCH = 200;
const CHECKPOINT = "usage";

export interface MeteringDeps {
  db: Db;
  rates: UsageRates;
  log: Logger;
  clock?: () => number;
}

export interface MeteringRun {
  /** Usage items made or grown. */
  metered: number;
  /** Conversations whose metering failed (they are retried by the next run). */
  failed: number;
}

interface Measured {
  channel: "voice" | "chat";
  quantity: number;
  time: Date;
  description: string;
}

type Touched = Awaited<ReturnType<typeof details>>[number];

/** One metering run: every live conversation touched since the last run gets its usage item made or brought up to date. */
export async function meterUsage(deps: MeteringDeps): Promise<MeteringRun> {
  const { db } = deps;
  const clock = deps.clock ?? Date.now;
  const startedAt = new Date(clock());
  const [checkpoint] = await db.select({ through: meteringCheckpoints.through }).from(meteringCheckpoints).where(eq(meteringCheckpoints.name, CHECKPOINT));
  // The first run of an installation starts from now: conversations from before metering existed are not billed.
  const since = new Date((checkpoint?.through ?? startedAt).getTime() - OVERLAP_MS);

  const ids = await touchedSince(db, since);
  const run: MeteringRun = { metered: 0, failed: 0 };
  for (let i = 0; i < ids.length; i += BATCH) {
    const batch = await details(db, ids.slice(i, i + BATCH));
    if (!batch.length) continue;
    const items = await db
      .select({ id: usageItems.id, conversationId: usageItems.conversationId, channel: usageItems.channel, quantity: usageItems.quantity, time: usageItems.time })
      .from(usageItems)
      .where(inArray(usageItems.conversationId, batch.map((c) => c.id)));
    for (const conversation of batch) {
      const measured = measure(conversation);
      if (!measured) continue;
      const item = items.find((i) => i.conversationId === conversation.id && i.channel === measured.channel) ?? null;
      try {
        if (await meterConversation(deps, conversation, measured, item)) run.metered++;
      } catch (error) {
        run.failed++;
        deps.log.warn("usage metering: a conversation could not be metered; the next run tries again", { conversationId: conversation.id, error });
      }
    }
  }
  // A run with failures leaves the checkpoint where it was, so the next run reads those conversations again.
  if (!run.failed) {
    await db
      .insert(meteringCheckpoints)
      .values({ name: CHECKPOINT, through: startedAt })
      .onConflictDoUpdate({ target: meteringCheckpoints.name, set: { through: sql`greatest(${meteringCheckpoints.through}, excluded.through)` } });
  }
  return run;
}

/** Every minute, and once at start, across all replicas once. */
export function scheduleMetering(deps: MeteringDeps & { jobs: Jobs }) {
  deps.jobs.schedule("usage-metering", "* * * * *", async () => {
    const run = await meterUsage(deps);
    if (run.metered || run.failed) deps.log.debug("usage metering", { ...run });
  });
}

/** Ids of the conversations that ended, or had a message stored, since `since`: the only ones whose usage can have changed. */
async function touchedSince(db: Db, since: Date): Promise<string[]> {
  // Message ids sort by the time they were made: the primary key finds the recent ones.
  const fromMessageId = firstIdAt("msg", since.getTime());
  const ended = db.select({ id: conversations.id }).from(conversations).where(gte(conversations.endedAt, since));
  const messaged = db.selectDistinct({ id: conversationMessages.conversationId }).from(conversationMessages).where(gte(conversationMessages.id, fromMessageId));
  const rows = await ended.union(messaged);
  return rows.map((r) => r.id).sort();
}

function details(db: Db, ids: string[]) {
  return db
    .select({
      id: conversations.id,
      organizationId: conversations.organizationId,
      agentId: conversations.agentId,
      channel: conversations.channel,
      source: conversations.source,
      startedAt: conversations.startedAt,
      endedAt: conversations.endedAt,
      messages: sql<number>`(select count(*) from ${conversationMessages} m where m.conversation_id = "conversations"."id")`.mapWith(Number),
      // Milliseconds since the epoch: a driver-independent way to read a computed timestamp.
      lastMessageMs: sql<number | null>`(select floor(extract(epoch from max(m.created_at)) * 1000) from ${conversationMessages} m where m.conversation_id = "conversations"."id")`.mapWith(
        (v) => (v === null ? null : Number(v)),
      ),
    })
    .from(conversations)
    .where(and(inArray(conversations.id, ids), inArray(conversations.source, [...LIVE_SOURCES]), eq(conversations.draftMode, false)));
}

const SOURCE_NAMES: Record<string, string> = { chat: "Chat session", widget: "Widget chat", openai: "OpenAI-compatible chat", voice: "Phone call" };

/** What a conversation has used so far; null while a call is still connected (it is measured once it ends). */
function measure(c: Pick<Touched, "channel" | "source" | "startedAt" | "endedAt" | "messages" | "lastMessageMs">): Measured | null {
  const source = SOURCE_NAMES[c.source] ?? c.source;
  if (c.channel === "voice") {
    if (!c.endedAt) return null;
    const seconds = Math.max(0, (c.endedAt.getTime() - c.startedAt.getTime()) / 1000);
    const minutes = Math.ceil(seconds / 60);
    return { channel: "voice", quantity: minutes, time: c.endedAt, description: `${source}: ${Math.round(seconds)} s connected, ${minutes} min billed` };
  }
  const time = c.endedAt ?? (c.lastMessageMs !== null ? new Date(c.lastMessageMs) : c.startedAt);
  return { channel: "chat", quantity: c.messages, time, description: `${source}: ${c.messages} message${c.messages === 1 ? "" : "s"}${c.endedAt ? "" : " so far"}` };
}

/**
 * Make or grow the conversation's usage item, and debit what the new units cost, in one transaction. A short wallet
 * never stops metering: the item records the full credits, the wallet gives what it holds, and the rest is logged.
 * Returns false when there was nothing to charge (or another run got there first).
 */
async function meterConversation(deps: MeteringDeps, c: Touched, m: Measured, item: { id: string; quantity: number; time: Date } | null): Promise<boolean> {
  const { db, rates, log } = deps;
  if (item && m.quantity <= item.quantity) {
    // Nothing new to charge; a chat that has since ended takes its end as its time.
    if (item.time.getTime() !== m.time.getTime()) {
      await db.update(usageItems).set({ time: m.time, description: m.description, updatedAt: sql`now()` }).where(and(eq(usageItems.id, item.id), eq(usageItems.quantity, item.quantity)));
    }
    return false;
  }
  const added = m.quantity - (item?.quantity ?? 0);
  const credits = added * rates[m.channel];
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    let id: string;
    if (!item) {
      const [made] = await t
        .insert(usageItems)
        .values({ id: newId("usage"), organizationId: c.organizationId, agentId: c.agentId, conversationId: c.id, channel: m.channel, quantity: m.quantity, credits, description: m.description, time: m.time })
        .onConflictDoNothing()
        .returning({ id: usageItems.id });
      if (!made) return false;
      id = made.id;
    } else {
      const [grown] = await t
        .update(usageItems)
        .set({ quantity: m.quantity, credits: sql`${usageItems.credits} + ${credits}`, description: m.description, time: m.time, updatedAt: sql`now()` })
        .where(and(eq(usageItems.id, item.id), eq(usageItems.quantity, item.quantity)))
        .returning({ id: usageItems.id });
      if (!grown) return false;
      id = grown.id;
    }
    if (credits > 0) {
      const { debitedCents, balanceCents } = await debitWalletUpTo(t, c.organizationId, credits, {
        kind: "usage",
        reference: id,
        metadata: { conversationId: c.id, channel: m.channel, quantity: added, rate: rates[m.channel] },
      });
      if (debitedCents < credits) {
        log.warn("usage metering: the wallet could not cover this usage; it is recorded in full and the rest is unpaid", {
          organizationId: c.organizationId,
          usageItemId: id,
          credits,
          debited: debitedCents,
          unpaid: credits - debitedCents,
          balance: balanceCents,
        });
      }
    }
    return true;
  });
}
