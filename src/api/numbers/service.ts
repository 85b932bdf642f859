// Numbers: search → reserve (optional hold, no charge) → purchase (wallet debit) → assign to an agent; or import a
// number the carrier account already has. Unassign keeps the number; release gives it back to the provider for good.
// Agents are looked up before a transaction opens: the embedded store is one connection, and a read outside the
// open transaction would wait for it.
import { and, desc, eq, isNull, lt } from "drizzle-orm";
import type { Database, Db } from "../../platform/db/index.ts";
import { agents, organizations, phoneNumbers } from "../../platform/db/schema/index.ts";
import { normalizePhoneNumber, notAPhoneNumber, type PhoneRegion } from "../../platform/e164.ts";
import { appendEvents } from "../../platform/events/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem, validationProblem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { AgentsService } from "../agents/service.ts";
import { debitWallet, toCents, toUsd } from "../billing/wallet.ts";
import { DEFAULT_SEARCH_LIMIT, type AvailableNumberDto, type PhoneNumberDto, type PoolNumberInput, type SearchQueryInput } from "./model.ts";
import { formatNumber } from "./numbering.ts";
import type { DeclaredInventory, InventoryNumber, NumberProvider } from "./provider.ts";
import { SipTrunkProvider } from "./providers/sip-trunk.ts";

export const HOLD_MINUTES = 30;

type PhoneNumberRow = typeof phoneNumbers.$inferSelect;

function toPhoneNumberDto(row: PhoneNumberRow): PhoneNumberDto {
  return {
    id: row.id,
    organizationId: row.organizationId,
    e164: row.e164,
    provider: row.provider,
    defaultAgentId: row.defaultAgentId,
    status: row.defaultAgentId ? "assigned" : "available",
    monthlyCost: toUsd(row.monthlyCostCents),
    features: row.features,
    createdAt: row.createdAt.toISOString(),
  };
}

function assignedEvent(row: PhoneNumberRow, previousAgentId: string | null) {
  return {
    type: "number.assigned" as const,
    organizationId: row.organizationId,
    aggregateId: row.id,
    payload: { numberId: row.id, e164: row.e164, agentId: row.defaultAgentId!, previousAgentId },
  };
}

/** What any view of an inventory number shows. */
function describe(n: InventoryNumber) {
  return {
    e164: n.e164,
    formatted: formatNumber(n.e164),
    country: n.country,
    numberType: n.numberType,
    locality: n.locality,
    region: n.region,
    rateCenter: n.rateCenter,
    features: n.features,
    monthlyCost: toUsd(n.monthlyCostCents),
    setupCost: toUsd(n.setupCostCents),
    currency: "USD" as const,
  };
}

function toAvailableDto(n: InventoryNumber, vanityFormat: string | null = null): AvailableNumberDto {
  return { ...describe(n), reservable: !n.heldByYou, vanityFormat };
}

/**
 * Read an E.164 number from a body or path, accepting the forms people type (`+1 (415) 555-0142`, `+44 20 7946 0018`,
 * and, without `+`, a number of `region`: `020 7946 0018` in GB).
 */
function e164Of(input: string, region: PhoneRegion): string {
  const e164 = normalizePhoneNumber(input, region);
  if (!e164) throw validationProblem([{ field: "e164", message: notAPhoneNumber(region) }]);
  return e164;
}

export class NumbersService {
  constructor(
    private database: Database,
    private agents: AgentsService,
    private provider: NumberProvider & DeclaredInventory,
    /** How a number written without `+` is read (DEFAULT_PHONE_REGION). */
    private phoneRegion: PhoneRegion,
    private now: () => Date = () => new Date(),
  ) {}

  private get db() {
    return this.database.db;
  }

  async list(organizationId: string, q: { cursor?: string; limit: number }) {
    const after = decodeCursor(q.cursor);
    const rows = await this.db
      .select()
      .from(phoneNumbers)
      .where(and(eq(phoneNumbers.organizationId, organizationId), isNull(phoneNumbers.releasedAt), after ? lt(phoneNumbers.id, after) : undefined))
      .orderBy(desc(phoneNumbers.id))
      .limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, toPhoneNumberDto);
  }

  async search(organizationId: string, q: SearchQueryInput) {
    const hits = await this.provider.search(organizationId, {
      ...q,
      features: q.features ?? [],
      bestEffort: q.bestEffort ?? true,
      limit: q.limit ?? DEFAULT_SEARCH_LIMIT,
    });
    return hits.map((h) => ({ ...toAvailableDto(h.number, h.vanityFormat), bestEffort: h.bestEffort }));
  }

  async available(organizationId: string, input: string) {
    const e164 = e164Of(input, this.phoneRegion);
    const n = await this.provider.check(organizationId, e164);
    if (!n) throw new Problem(404, "number_not_found", `${e164} is not available to purchase`);
    return toAvailableDto(n);
  }

  async reserve(organizationId: string, input: string) {
    const hold = await this.provider.hold(organizationId, e164Of(input, this.phoneRegion), new Date(this.now().getTime() + HOLD_MINUTES * 60_000));
    return { id: hold.id, e164: hold.e164, expiresAt: hold.expiresAt.toISOString() };
  }

  async cancelReservation(organizationId: string, id: string) {
    if (!(await this.provider.releaseHold(organizationId, id))) throw notFound("reservation", id);
  }

  async purchase(organizationId: string, input: { e164: string; reservationId?: string }): Promise<PhoneNumberDto> {
    const e164 = e164Of(input.e164, this.phoneRegion);
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const n = await this.provider.acquire(t, organizationId, e164, input.reservationId);
      const id = newId("num");
      const cents = n.setupCostCents + n.monthlyCostCents;
      if (cents > 0) {
        await debitWallet(t, organizationId, cents, {
          kind: "number_purchase",
          reference: id,
          metadata: { e164, setupCostCents: n.setupCostCents, monthlyCostCents: n.monthlyCostCents },
        });
      }
      const [row] = await t.insert(phoneNumbers).values({ ...this.owned(n), id, organizationId }).returning();
      return toPhoneNumberDto(row!);
    });
  }

  async importNumber(organizationId: string, input: { e164: string; agentId?: string }): Promise<PhoneNumberDto> {
    const e164 = e164Of(input.e164, this.phoneRegion);
    if (input.agentId !== undefined) await this.agents.get(organizationId, input.agentId);
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const n = await this.provider.importNumber(t, organizationId, e164);
      const [row] = await t
        .insert(phoneNumbers)
        .values({ ...this.owned(n), id: newId("num"), organizationId, defaultAgentId: input.agentId ?? null, imported: this.provider.name })
        .returning();
      if (row!.defaultAgentId) await appendEvents(t, [assignedEvent(row!, null)]);
      return toPhoneNumberDto(row!);
    });
  }

  async assign(organizationId: string, id: string, agentId: string): Promise<PhoneNumberDto> {
    await this.find(organizationId, id);
    await this.agents.get(organizationId, agentId);
    return this.setAgent(organizationId, id, agentId);
  }

  async unassign(organizationId: string, id: string): Promise<PhoneNumberDto> {
    return this.setAgent(organizationId, id, null);
  }

  async release(organizationId: string, id: string) {
    await this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const [row] = await t
        .update(phoneNumbers)
        .set({ releasedAt: this.now() })
        .where(this.active(organizationId, id))
        .returning();
      if (!row) throw notFound("phone number", id);
      await this.provider.release(t, organizationId, row.e164);
      await appendEvents(t, [
        { type: "number.released", organizationId, aggregateId: row.id, payload: { numberId: row.id, e164: row.e164, previousAgentId: row.defaultAgentId } },
      ]);
    });
  }

  /** Operators (keys of the default organization) declare the trunk's numbers: the inventory every tenant buys from. */
  async declarePoolNumber(organizationId: string, input: PoolNumberInput) {
    await this.requireOperator(organizationId);
    const { number, state, created } = await this.provider.declare({
      e164: e164Of(input.e164, this.phoneRegion),
      country: input.country?.toUpperCase(),
      numberType: input.numberType,
      locality: input.locality,
      region: input.administrativeArea,
      rateCenter: input.rateCenter,
      features: input.features,
      monthlyCostCents: input.monthlyCost === undefined ? undefined : toCents(input.monthlyCost),
      setupCostCents: input.setupCost === undefined ? undefined : toCents(input.setupCost),
    });
    return { number: { ...describe(number), provider: number.provider, state }, created };
  }

  async retirePoolNumber(organizationId: string, input: string) {
    await this.requireOperator(organizationId);
    await this.provider.retire(e164Of(input, this.phoneRegion));
  }

  private owned(n: InventoryNumber) {
    return { e164: n.e164, provider: n.provider, monthlyCostCents: n.monthlyCostCents, features: n.features };
  }

  private active(organizationId: string, id: string) {
    return and(eq(phoneNumbers.id, id), eq(phoneNumbers.organizationId, organizationId), isNull(phoneNumbers.releasedAt));
  }

  private async find(organizationId: string, id: string) {
    const [row] = await this.db.select().from(phoneNumbers).where(this.active(organizationId, id));
    if (!row) throw notFound("phone number", id);
    return row;
  }

  private async setAgent(organizationId: string, id: string, agentId: string | null) {
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Db;
      const [before] = await t.select({ defaultAgentId: phoneNumbers.defaultAgentId }).from(phoneNumbers).where(this.active(organizationId, id)).for("update");
      if (!before) throw notFound("phone number", id);
      const [row] = await t.update(phoneNumbers).set({ defaultAgentId: agentId }).where(eq(phoneNumbers.id, id)).returning();
      const previousAgentId = before.defaultAgentId;
      if (row!.defaultAgentId) {
        if (previousAgentId !== row!.defaultAgentId) await appendEvents(t, [assignedEvent(row!, previousAgentId)]);
      } else if (previousAgentId) {
        await appendEvents(t, [
          { type: "number.unassigned", organizationId, aggregateId: id, payload: { numberId: id, e164: row!.e164, previousAgentId } },
        ]);
      }
      return toPhoneNumberDto(row!);
    });
  }

  private async requireOperator(organizationId: string) {
    const [org] = await this.db.select({ isDefault: organizations.isDefault }).from(organizations).where(eq(organizations.id, organizationId));
    if (!org?.isDefault) {
      throw new Problem(403, "operator_only", "the number pool is installation-wide: only keys of the default (operator's) organization can change it");
    }
  }
}

/** At start: put the configured trunk numbers in the pool (entries already there are left as they are). */
export async function seedNumberPool(db: Db, trunkNumbers: string[]) {
  await new SipTrunkProvider(db).seed(trunkNumbers);
}

/**
 * Inbound routing: which organization and agent a call to `e164` (the dialed DID, in any form a trunk presents it)
 * rings. Null unless the number is owned, not released, and assigned to an agent that still exists.
 */
export async function agentForDialedNumber(db: Db, e164: string, region: PhoneRegion): Promise<{ organizationId: string; agentId: string } | null> {
  const dialed = normalizePhoneNumber(e164, region);
  if (!dialed) return null;
  const [row] = await db
    .select({ organizationId: phoneNumbers.organizationId, agentId: agents.id })
    .from(phoneNumbers)
    .innerJoin(agents, and(eq(agents.id, phoneNumbers.defaultAgentId), eq(agents.organizationId, phoneNumbers.organizationId), isNull(agents.deletedAt)))
    .where(and(eq(phoneNumbers.e164, dialed), isNull(phoneNumbers.releasedAt)));
  return row ?? null;
}
