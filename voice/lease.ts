// Which replica holds an Asterisk's Stasis application: a row in `voice_leases` that the holder renews. A row whose
// expiry has passed may be taken by any replica, so a holder that crashed, hung or lost its database is replaced
// within the lease; one that stops cleanly deletes its row and a standby takes over on its next try. Expiry is
// the database's clock, so the replicas' own clocks never matter.
//
// A lease row rather than a session advisory lock: a lock is released only when Postgres notices its connection is
// gone, which for a hung process or a cut network can take as long as TCP keepalive (hours by default), and it
// breaks behind a transaction-pooling PgBouncer. A lease is renewed by the process's own event loop, so a holder
// that stops working stops renewing.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../src/platform/db/index.ts";
import { voiceLeases } from "../src/platform/db/schema/index.ts";

export interface VoiceLeaseOptions {
  db: Db;
  /** The application on one Asterisk, "<ARI_APP>@<ARI_URL>". */
  key: string;
  holder: string;
  ttlSeconds: number;
  /**
   * The embedded store is one process's alone: any lease found there was left by an earlier run of this server, and
   * is taken at once instead of waiting out its expiry.
   */
  exclusive: boolean;
}

export class VoiceLease {
  constructor(private readonly options: VoiceLeaseOptions) {}

  get holder(): string {
    return this.options.holder;
  }

  /** Takes the lease when it is free or expired, renews it when already held; true when this replica holds it. */
  async hold(): Promise<boolean> {
    const { db, key, holder, ttlSeconds, exclusive } = this.options;
    const expiresAt = sql`now() + make_interval(secs => ${ttlSeconds})`;
    const rows = await db
      .insert(voiceLeases)
      .values({ asteriskKey: key, holder, expiresAt })
      .onConflictDoUpdate({
        target: voiceLeases.asteriskKey,
        set: {
          holder,
          expiresAt,
          acquiredAt: sql`case when ${voiceLeases.holder} = ${holder} then ${voiceLeases.acquiredAt} else now() end`,
        },
        setWhere: exclusive ? undefined : sql`${voiceLeases.holder} = ${holder} or ${voiceLeases.expiresAt} < now()`,
      })
      .returning({ holder: voiceLeases.holder });
    return rows.length === 1;
  }

  /** Gives the lease up at once, if this replica holds it. */
  async release(): Promise<void> {
    const { db, key, holder } = this.options;
    await db.delete(voiceLeases).where(and(eq(voiceLeases.asteriskKey, key), eq(voiceLeases.holder, holder)));
  }
}
