// Audit trail of every state-changing request. Entries are buffered and written in batches after the
// response has gone out, so recording never adds a database round trip to a request; `flush()` makes
// everything recorded so far durable (the audit-log list calls it before reading, and shutdown does too).
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

const FLUSH_AFTER_MS = 200;
const FLUSH_AT = 200;

export class AuditRecorder {
  private pending: (typeof auditLogs.$inferInsert)[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private db: Db, private log: Logger) {}

  record(entry: AuditEntry, at = new Date()) {
    this.pending.push({ id: newId("aud"), ...entry, createdAt: at });
    if (this.pending.length >= FLUSH_AT) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS);
  }

  /** Resolves once everything recorded before the call is stored. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    this.writing = this.writing.then(async () => {
      if (!batch.length) return;
      try {
        await this.db.insert(auditLogs).values(batch);
      } catch (error) {
        this.log.error("could not store audit entries", { count: batch.length, error });
      }
    });
    return this.writing;
  }
}
