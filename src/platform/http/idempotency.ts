// Idempotency-Key on mutating POSTs: the first request with a key runs and its result is kept (sealed, since it
// may carry a secret shown once); a retry with the same key and the same request gets that result again
// instead of acting twice. Keys live for 24 hours per caller (organization and API key): another key sending
// the same Idempotency-Key has its own request run, so a stored result never reaches a caller that did not make it.
// A request that fails frees its key.
import { and, eq, lt, sql } from "drizzle-orm";
import type { Sealer } from "../crypto.ts";
import { sha256Hex } from "../crypto.ts";
import type { Db } from "../db/index.ts";
import { idempotencyKeys } from "../db/schema/index.ts";
import { Problem } from "./problem.ts";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
// A first request that has held its key this long without finishing is assumed dead (process crash).
const STALE_PENDING_MS = 5 * 60 * 1000;

/** What a route honouring Idempotency-Key may answer besides its own results; the OpenAPI document lists them. */
export const IDEMPOTENCY_PROBLEMS = {
  400: { code: "invalid_idempotency_key", when: "the Idempotency-Key header is not 1 to 255 characters" },
  409: { code: "idempotency_in_progress", when: "a request with this Idempotency-Key is still running (Retry-After: 1)" },
  422: { code: "idempotency_key_reused", when: "this Idempotency-Key was used for a different method, path or body" },
} as const;

/** Whose records these are: a result is only ever replayed to the actor (API key) whose request produced it. */
export interface IdempotencyOwner {
  organizationId: string;
  actorId: string;
}

export type Claim = { kind: "claimed" } | { kind: "replay"; status: number; body: unknown };

export class IdempotencyStore {
  constructor(private db: Db, private sealer: Sealer) {}

  static requestHash(method: string, path: string, body: unknown) {
    return sha256Hex(`${method} ${path}\n${JSON.stringify(body ?? null)}`);
  }

  async claim(owner: IdempotencyOwner, key: string, requestHash: string, now = Date.now()): Promise<Claim> {
    if (key.length < 1 || key.length > 255) {
      throw new Problem(400, IDEMPOTENCY_PROBLEMS[400].code, "Idempotency-Key must be 1 to 255 characters", {
        errors: [{ field: "Idempotency-Key", message: "must be 1 to 255 characters" }],
      });
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await this.db
        .insert(idempotencyKeys)
        .values({ organizationId: owner.organizationId, actorId: owner.actorId, key, requestHash })
        .onConflictDoNothing()
        .returning({ key: idempotencyKeys.key });
      if (inserted.length) return { kind: "claimed" };

      const [row] = await this.db.select().from(idempotencyKeys).where(ownedKey(owner, key));
      if (!row) continue; // released in between: try again
      const age = now - row.createdAt.getTime();
      if (age > IDEMPOTENCY_TTL_MS || (row.status === null && age > STALE_PENDING_MS)) {
        await this.release(owner, key);
        continue;
      }
      if (row.requestHash !== requestHash) {
        throw new Problem(422, IDEMPOTENCY_PROBLEMS[422].code, "this Idempotency-Key was already used for a different request");
      }
      if (row.status === null || row.sealedBody === null) {
        throw new Problem(409, IDEMPOTENCY_PROBLEMS[409].code, "a request with this Idempotency-Key is still being processed; retry shortly", {
          headers: { "retry-after": "1" },
        });
      }
      return { kind: "replay", status: row.status, body: JSON.parse(this.sealer.open(row.sealedBody)) };
    }
    throw new Problem(409, IDEMPOTENCY_PROBLEMS[409].code, "a request with this Idempotency-Key is still being processed; retry shortly");
  }

  async complete(owner: IdempotencyOwner, key: string, status: number, body: unknown) {
    await this.db
      .update(idempotencyKeys)
      .set({ status, sealedBody: this.sealer.seal(JSON.stringify(body ?? null)) })
      .where(ownedKey(owner, key));
  }

  async release(owner: IdempotencyOwner, key: string) {
    await this.db.delete(idempotencyKeys).where(ownedKey(owner, key));
  }

  async purgeExpired(now = Date.now()) {
    await this.db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, sql`${new Date(now - IDEMPOTENCY_TTL_MS).toISOString()}::timestamptz`));
  }
}

function ownedKey(owner: IdempotencyOwner, key: string) {
  return and(eq(idempotencyKeys.organizationId, owner.organizationId), eq(idempotencyKeys.actorId, owner.actorId), eq(idempotencyKeys.key, key));
}
