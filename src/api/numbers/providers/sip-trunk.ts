// The built-in provider: the DIDs the operator's SIP trunk routes to this installation, kept in `number_pool`.
// Numbers come from TRUNK_NUMBERS (seeded at start) and from the operator (POST /numbers/pool); an entry is free,
// held by one organization until `held_until`, or owned. A hold past its time counts as no hold: nothing sweeps it.
import { and, asc, count, eq, gt, isNull, lte, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../../platform/db/index.ts";
import { numberPool } from "../../../platform/db/schema/index.ts";
import { Problem, notFound } from "../../../platform/http/problem.ts";
import { newId } from "../../../platform/ids.ts";
import { describeNumber, type NumberType } from "../numbering.ts";
import type { DeclaredInventory, DeclaredNumber, Hold, InventoryNumber, NumberProvider, PoolState, SearchFilter, SearchHit } from "../provider.ts";
import { matchSearch } from "../search.ts";

type PoolRow = typeof numberPool.$inferSelect;

const SIP_TRUNK = "sip-trunk";
/** Holds one organization may have at a time, so nobody can fence off the whole inventory. */
export const MAX_ACTIVE_HOLDS = 10;
const DEFAULT_FEATURES = ["voice"];

const alreadyOwned = () => new Problem(409, "number_not_available", "this number is already owned; pick another from GET /numbers/search");
const heldElsewhere = () => new Problem(409, "number_held", "another organization holds this number; pick another from GET /numbers/search");

export class SipTrunkProvider implements NumberProvider, DeclaredInventory {
  readonly name = SIP_TRUNK;

  constructor(
    private db: Db,
    private now: () => Date = () => new Date(),
  ) {}

  /** Add the configured DIDs that are not in the pool yet; entries already there keep their state and details. */
  async seed(e164s: string[]) {
    if (!e164s.length) return;
    await this.db
      .insert(numberPool)
      .values(e164s.map((e164) => newEntry({ e164 })))
      .onConflictDoNothing();
  }

  async search(organizationId: string, filter: SearchFilter): Promise<SearchHit[]> {
    const where: SQL[] = [this.buyableBy(organizationId)];
    if (filter.country) where.push(eq(numberPool.country, filter.country.toUpperCase()));
    if (filter.numberType) where.push(eq(numberPool.numberType, filter.numberType));
    if (filter.features.length) where.push(sql`${numberPool.features} @> ${JSON.stringify(filter.features)}::jsonb`);
    // The pool is the operator's DIDs (hundreds, not millions): digit patterns and widening run over the candidates here.
    const rows = await this.db.select().from(numberPool).where(and(...where)).orderBy(asc(numberPool.e164));
    return matchSearch(rows.map((r) => this.toNumber(r, organizationId)), filter);
  }

  async check(organizationId: string, e164: string): Promise<InventoryNumber | null> {
    const [row] = await this.db.select().from(numberPool).where(and(eq(numberPool.e164, e164), this.buyableBy(organizationId)));
    return row ? this.toNumber(row, organizationId) : null;
  }

  async hold(organizationId: string, e164: string, until: Date): Promise<Hold> {
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const row = await this.lock(t, e164);
      if (row.ownedByOrganizationId) throw alreadyOwned();
      if (this.activeHold(row)) {
        if (row.heldByOrganizationId !== organizationId) throw heldElsewhere();
        return { id: row.holdId!, e164, expiresAt: row.heldUntil! };
      }
      const [held] = await t
        .select({ n: count() })
        .from(numberPool)
        .where(and(eq(numberPool.heldByOrganizationId, organizationId), gt(numberPool.heldUntil, this.now()), isNull(numberPool.ownedByOrganizationId)));
      if (held!.n >= MAX_ACTIVE_HOLDS) {
        throw new Problem(409, "too_many_reservations", `an organization can hold ${MAX_ACTIVE_HOLDS} numbers at a time; purchase or release one first`);
      }
      const hold = { id: newId("rsv"), e164, expiresAt: until };
      await t.update(numberPool).set({ heldByOrganizationId: organizationId, holdId: hold.id, heldUntil: until }).where(eq(numberPool.e164, e164));
      return hold;
    });
  }

  async releaseHold(organizationId: string, holdId: string): Promise<boolean> {
    const released = await this.db
      .update(numberPool)
      .set({ heldByOrganizationId: null, holdId: null, heldUntil: null })
      .where(and(eq(numberPool.holdId, holdId), eq(numberPool.heldByOrganizationId, organizationId), gt(numberPool.heldUntil, this.now()), isNull(numberPool.ownedByOrganizationId)))
      .returning({ e164: numberPool.e164 });
    return released.length > 0;
  }

  async acquire(tx: Db, organizationId: string, e164: string, reservationId: string | undefined): Promise<InventoryNumber> {
    const row = await this.lock(tx, e164);
    if (row.ownedByOrganizationId) throw alreadyOwned();
    if (this.activeHold(row) && row.heldByOrganizationId !== organizationId) throw heldElsewhere();
    // A reservation past its time still counts while nobody else has taken the number since.
    if (reservationId !== undefined && !(row.holdId === reservationId && row.heldByOrganizationId === organizationId)) throw notFound("reservation", reservationId);
    return this.handOver(tx, row, organizationId);
  }

  async importNumber(tx: Db, organizationId: string, e164: string): Promise<InventoryNumber> {
    const [row] = await tx.select().from(numberPool).where(eq(numberPool.e164, e164)).for("update");
    if (!row) {
      // Not declared anywhere: the trunk is the operator's, so a DID it routes is taken at the organization's word.
      const [created] = await tx
        .insert(numberPool)
        .values({ ...newEntry({ e164 }), ownedByOrganizationId: organizationId })
        .returning();
      return this.toNumber(created!, organizationId);
    }
    if (row.ownedByOrganizationId) throw alreadyOwned();
    if (this.activeHold(row) && row.heldByOrganizationId !== organizationId) throw heldElsewhere();
    if (row.setupCostCents > 0 || row.monthlyCostCents > 0) {
      throw new Problem(409, "number_for_sale", "this number has a price in the inventory; buy it with POST /numbers/purchase");
    }
    return this.handOver(tx, row, organizationId);
  }

  async release(tx: Db, organizationId: string, e164: string) {
    await tx
      .update(numberPool)
      .set({ ownedByOrganizationId: null, heldByOrganizationId: null, holdId: null, heldUntil: null })
      .where(and(eq(numberPool.e164, e164), eq(numberPool.ownedByOrganizationId, organizationId)));
  }

  async declare(entry: DeclaredNumber) {
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const [existing] = await t.select().from(numberPool).where(eq(numberPool.e164, entry.e164)).for("update");
      const [row] = existing
        ? await t.update(numberPool).set(changes(entry)).where(eq(numberPool.e164, entry.e164)).returning()
        : await t.insert(numberPool).values(newEntry(entry)).returning();
      return { number: this.toNumber(row!, null), state: this.stateOf(row!), created: !existing };
    });
  }

  async retire(e164: string) {
    await this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const row = await this.lock(t, e164);
      if (row.ownedByOrganizationId) throw new Problem(409, "number_in_use", "an organization owns this number; it leaves the pool once released");
      if (this.activeHold(row)) throw new Problem(409, "number_held", "an organization holds this number; retry once the hold ends");
      await t.delete(numberPool).where(eq(numberPool.e164, e164));
    });
  }

  private async lock(tx: Db, e164: string): Promise<PoolRow> {
    const [row] = await tx.select().from(numberPool).where(eq(numberPool.e164, e164)).for("update");
    if (!row) throw notFound("number", e164);
    return row;
  }

  private async handOver(tx: Db, row: PoolRow, organizationId: string) {
    const [owned] = await tx
      .update(numberPool)
      .set({ ownedByOrganizationId: organizationId, heldByOrganizationId: null, holdId: null, heldUntil: null })
      .where(eq(numberPool.e164, row.e164))
      .returning();
    return this.toNumber(owned!, organizationId);
  }

  /** Not owned, and not held by another organization right now. */
  private buyableBy(organizationId: string): SQL {
    return and(
      isNull(numberPool.ownedByOrganizationId),
      or(isNull(numberPool.heldByOrganizationId), lte(numberPool.heldUntil, this.now()), eq(numberPool.heldByOrganizationId, organizationId)),
    )!;
  }

  private activeHold(row: PoolRow) {
    return row.heldByOrganizationId !== null && row.heldUntil !== null && row.heldUntil > this.now();
  }

  private stateOf(row: PoolRow): PoolState {
    return row.ownedByOrganizationId ? "owned" : this.activeHold(row) ? "held" : "free";
  }

  private toNumber(row: PoolRow, organizationId: string | null): InventoryNumber {
    return {
      e164: row.e164,
      provider: row.provider,
      country: row.country,
      numberType: row.numberType as NumberType,
      locality: row.locality,
      region: row.region,
      rateCenter: row.rateCenter,
      features: row.features,
      monthlyCostCents: row.monthlyCostCents,
      setupCostCents: row.setupCostCents,
      heldByYou: organizationId !== null && this.activeHold(row) && row.heldByOrganizationId === organizationId,
    };
  }
}

function newEntry(entry: DeclaredNumber): typeof numberPool.$inferInsert {
  const facts = describeNumber(entry.e164);
  return {
    e164: entry.e164,
    provider: SIP_TRUNK,
    country: entry.country ?? facts.country,
    numberType: entry.numberType ?? facts.numberType,
    locality: entry.locality ?? null,
    region: entry.region ?? null,
    rateCenter: entry.rateCenter ?? null,
    features: entry.features ?? DEFAULT_FEATURES,
    monthlyCostCents: entry.monthlyCostCents ?? 0,
    setupCostCents: entry.setupCostCents ?? 0,
  };
}

/** The fields an operator sent (`e164` among them, so the update is never empty). */
function changes(entry: DeclaredNumber): Partial<typeof numberPool.$inferInsert> {
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined));
}
