// Where numbers come from. The service runs the lifecycle (wallet, owned numbers, agents); a provider answers for
// its inventory: what is available, holds, handing a number over and taking it back. Methods given `tx` run inside
// the caller's transaction, so a purchase that cannot be paid for leaves the inventory untouched.
import type { Db } from "../../platform/db/index.ts";
import type { NumberType } from "./numbering.ts";

export const NUMBER_FEATURES = ["voice", "sms", "mms", "fax", "emergency"] as const;
export type NumberFeature = (typeof NUMBER_FEATURES)[number];

/** One number of a provider's inventory, with its price in cents. */
export interface InventoryNumber {
  e164: string;
  provider: string;
  country: string;
  numberType: NumberType;
  locality: string | null;
  /** State or province (the search's `administrativeArea`). */
  region: string | null;
  rateCenter: string | null;
  features: string[];
  monthlyCostCents: number;
  setupCostCents: number;
  /** Held right now by the organization asking. */
  heldByYou: boolean;
}

export interface SearchFilter {
  country?: string;
  areaCode?: string;
  contains?: string;
  startsWith?: string;
  endsWith?: string;
  numberType?: NumberType;
  locality?: string;
  administrativeArea?: string;
  features: NumberFeature[];
  /** Fill the answer with nearby numbers when too few match every filter. */
  bestEffort: boolean;
  limit: number;
}

export interface SearchHit {
  number: InventoryNumber;
  /** False when the number matches every filter; true when it only matches a widened one. */
  bestEffort: boolean;
  /** The number spelled with the vanity letters searched for, when it carries them. */
  vanityFormat: string | null;
}

export interface Hold {
  id: string;
  e164: string;
  expiresAt: Date;
}

export interface NumberProvider {
  /** The opaque carrier label numbers from this provider carry (`provider` on the wire). */
  readonly name: string;
  /** Numbers the organization could buy now: not owned, not held by another organization. */
  search(organizationId: string, filter: SearchFilter): Promise<SearchHit[]>;
  /** One number, if the organization could buy it now. */
  check(organizationId: string, e164: string): Promise<InventoryNumber | null>;
  /** Hold a number for the organization until `until` (an existing hold of its own is returned as it is). */
  hold(organizationId: string, e164: string, until: Date): Promise<Hold>;
  /** Drop one of the organization's holds; false when it has no such hold. */
  releaseHold(organizationId: string, holdId: string): Promise<boolean>;
  /** Hand a number over for a purchase, honouring and consuming the organization's hold. */
  acquire(tx: Db, organizationId: string, e164: string, reservationId: string | undefined): Promise<InventoryNumber>;
  /** Check that the organization may bring in a number the carrier account already has, and hand it over. */
  importNumber(tx: Db, organizationId: string, e164: string): Promise<InventoryNumber>;
  /** Give an owned number back to the carrier, free for anyone again. */
  release(tx: Db, organizationId: string, e164: string): Promise<void>;
}

/** How an operator describes a number it declares; fields left out keep their current (or derived) value. */
export interface DeclaredNumber {
  e164: string;
  country?: string;
  numberType?: NumberType;
  locality?: string | null;
  region?: string | null;
  rateCenter?: string | null;
  features?: string[];
  monthlyCostCents?: number;
  setupCostCents?: number;
}

export type PoolState = "free" | "held" | "owned";

/** Providers whose inventory the operator declares (a SIP trunk's DIDs) rather than a carrier listing it. */
export interface DeclaredInventory {
  declare(entry: DeclaredNumber): Promise<{ number: InventoryNumber; state: PoolState; created: boolean }>;
  /** Take a number out of the inventory; refused while an organization owns or holds it. */
  retire(e164: string): Promise<void>;
}
