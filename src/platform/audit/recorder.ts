// Audit trail of every state-changing request. `record()` resolves once the entry is stored, and the HTTP layer
// awaits it before the response goes out, so an answered request always has its entry. Entries recorded while a
// write is running go into the next one together (group commit): under load one INSERT carries many entries, with
// no timer and no waiting beyond the write in flight. A transient storage failure (lost connection, serialization
// failure, too many clients) is retried a few times; entries that still cannot be stored are kept, logged as an
// error with their content, and stored with the next write or at `flush()` (shutdown). An entry is only ever let
// go (storage refusing it outright, or a backlog past 10,000) with a log line carrying the whole entry.
import type { Db } from "../db/index.ts";
import { auditLogs } from "../db/schema/index.ts";
import { newId } from "../ids.ts";
import type { Logger } from "../log.ts";
import type { ActorType } from "../auth/principal.ts";

export interface AuditEntry {
  organizationId: string;
  actorType: ActorType;
  actorId: string | null;
  method: string;
  path: string;
  status: number;
  requestId: string | null;
}

type Row = typeof auditLogs.$inferInsert;

/** Waits before each retry of a write that failed transiently (ms). */
export const RETRY_DELAYS_MS = [20, 100, 400];
/** Entries kept for a later write when storage keeps failing; past this the oldest are logged and let go. */
const MAX_BACKLOG = 10_000;

// SQLSTATE classes and codes worth retrying: connection exceptions, serialization failures and deadlocks,
// insufficient resources, operator intervention (admin shutdown, crash shutdown, cannot connect now).
const TRANSIENT_SQLSTATE = /^(08|53|57P0[1-3]$|40001$|40P01$)/;
// postgres-js and socket errors raised when the connection goes away.
const TRANSIENT_CLIENT = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED", "CONNECT_TIMEOUT", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"]);

export function isTransient(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (TRANSIENT_SQLSTATE.test(code) || TRANSIENT_CLIENT.has(code))) return true;
  }
  return false;
}

interface Batch {
  rows: Row[];
  done: Promise<void>;
  resolve(): void;
}

export class AuditRecorder {
  /** Entries waiting for the write after the one in flight. */
  private next: Batch | null = null;
  private writing: Promise<void> | null = null;
  /** Entries whose write failed even after retries, stored again with the next write. */
  private backlog: Row[] = [];

  constructor(
    private db: Db,
    private log: Logger,
    private sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Resolves once the entry is stored, or, if storage keeps failing, kept for a later write and logged. Never rejects. */
  record(entry: AuditEntry, at = new Date()): Promise<void> {
    const batch = (this.next ??= newBatch());
    batch.rows.push({ id: newId("aud"), ...entry, createdAt: at });
    if (!this.writing) this.writing = this.drain();
    return batch.done;
  }

  /** Resolves once everything recorded before the call is stored, trying the kept entries once more. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.backlog.length) {
      this.writing = this.drain(true);
      await this.writing;
    }
  }

  /** Entries not stored yet (kept after failed writes). */
  get pending(): number {
    return this.backlog.length;
  }

  private async drain(withBacklog = false): Promise<void> {
    try {
      while (this.next || withBacklog) {
        withBacklog = false;
        const batch = this.next;
        this.next = null;
        // Entries kept from failed writes ride along with the next one.
        await this.store([...this.backlog.splice(0), ...(batch?.rows ?? [])]);
        batch?.resolve();
      }
    } finally {
      this.writing = null;
    }
  }

  private async store(rows: Row[]): Promise<void> {
    if (!rows.length) return;
    for (let attempt = 0; ; attempt++) {
      try {
        // A retry after a connection lost between commit and acknowledgement must not store an entry twice.
        await this.db.insert(auditLogs).values(rows).onConflictDoNothing({ target: auditLogs.id });
        return;
      } catch (error) {
        if (isTransient(error)) {
          if (attempt < RETRY_DELAYS_MS.length) {
            await this.sleep(RETRY_DELAYS_MS[attempt]!);
            continue;
          }
          this.keep(rows, error);
          return;
        }
        // Refused for what it holds: store the others one by one, and log the one that cannot be stored in full.
        if (rows.length > 1) {
          for (const row of rows) await this.store([row]);
        } else {
          this.log.error("storage refused an audit entry; it is kept in this log only", { error, entry: describe(rows[0]!) });
        }
        return;
      }
    }
  }

  private keep(rows: Row[], error: unknown) {
    this.log.error("could not store audit entries; kept in memory and stored with the next write", {
      count: rows.length,
      error,
      entries: rows.map(describe),
    });
    this.backlog.push(...rows);
    const over = this.backlog.length - MAX_BACKLOG;
    if (over > 0) this.log.error("audit backlog full: these entries are in this log only", { entries: this.backlog.splice(0, over).map(describe) });
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  return { rows: [], done, resolve };
}

const describe = (r: Row) => ({ ...r, createdAt: r.createdAt instanceof Date ? r.createdAt.toISOString() : r.createdAt });
