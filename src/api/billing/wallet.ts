// The prepaid wallet, in cents (1 credit = 1 cent; USD on the wire). Every change is one conditional update of the
// balance plus a `wallet_transactions` row, in one transaction: a debit that would go below zero changes nothing.
import { and, eq, gte, sql } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { wallets, walletTransactions } from "../../platform/db/schema/index.ts";
import { Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";

export interface WalletEntry {
  /** What moved the money, e.g. `number_purchase`, `credit`, `usage`. */
  kind: string;
  /** The resource it is for (a phone number id, a usage item id), if any. */
  reference?: string | null;
  metadata?: Record<string, unknown>;
}

export const toUsd = (cents: number) => cents / 100;
export const toCents = (usd: number) => Math.round(usd * 100);

export async function walletBalance(db: Db, organizationId: string): Promise<number> {
  const [row] = await db.select({ cents: wallets.balanceCents }).from(wallets).where(eq(wallets.organizationId, organizationId));
  return row?.cents ?? 0;
}

/** Take `cents` from the wallet; `402 insufficient_funds` (and nothing changed) when the balance is short. Returns the new balance. */
export async function debitWallet(db: Db, organizationId: string, cents: number, entry: WalletEntry): Promise<number> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const [row] = await t
      .update(wallets)
      .set({ balanceCents: sql`${wallets.balanceCents} - ${cents}`, updatedAt: sql`now()` })
      .where(and(eq(wallets.organizationId, organizationId), gte(wallets.balanceCents, cents)))
      .returning({ cents: wallets.balanceCents });
    if (!row) {
      const balance = await walletBalance(t, organizationId);
      throw new Problem(402, "insufficient_funds", `this costs $${toUsd(cents).toFixed(2)} and the wallet holds $${toUsd(balance).toFixed(2)}; add credit, then retry`, {
        extensions: { requiredUsd: toUsd(cents), balanceUsd: toUsd(balance) },
      });
    }
    await record(t, organizationId, -cents, entry);
    return row.cents;
  });
}

/**
 * Take up to `cents`: as much as the balance holds, never below zero. For usage, which is metered after it happened and
 * so cannot be refused: the part the wallet could not cover is left unpaid (recorded in the transaction's metadata as
 * `unpaidCents`). Returns what was taken and the new balance; a wallet that is empty or was never made gives 0.
 */
export async function debitWalletUpTo(db: Db, organizationId: string, cents: number, entry: WalletEntry): Promise<{ debitedCents: number; balanceCents: number }> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const [row] = await t.select({ cents: wallets.balanceCents }).from(wallets).where(eq(wallets.organizationId, organizationId)).for("update");
    const debited = Math.min(cents, Math.max(0, row?.cents ?? 0));
    if (!row || debited === 0) return { debitedCents: 0, balanceCents: row?.cents ?? 0 };
    const [updated] = await t
      .update(wallets)
      .set({ balanceCents: sql`${wallets.balanceCents} - ${debited}`, updatedAt: sql`now()` })
      .where(eq(wallets.organizationId, organizationId))
      .returning({ cents: wallets.balanceCents });
    await record(t, organizationId, -debited, { ...entry, metadata: { ...entry.metadata, unpaidCents: cents - debited } });
    return { debitedCents: debited, balanceCents: updated!.cents };
  });
}

/** Add `cents` to the wallet (made on first use). Returns the new balance. */
export async function creditWallet(db: Db, organizationId: string, cents: number, entry: WalletEntry): Promise<number> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const [row] = await t
      .insert(wallets)
      .values({ organizationId, balanceCents: cents })
      .onConflictDoUpdate({ target: wallets.organizationId, set: { balanceCents: sql`${wallets.balanceCents} + ${cents}`, updatedAt: sql`now()` } })
      .returning({ cents: wallets.balanceCents });
    await record(t, organizationId, cents, entry);
    return row!.cents;
  });
}

async function record(db: Db, organizationId: string, amountCents: number, entry: WalletEntry) {
  await db.insert(walletTransactions).values({
    id: newId("wtx"),
    organizationId,
    amountCents,
    kind: entry.kind,
    reference: entry.reference ?? null,
    metadata: entry.metadata ?? {},
  });
}
