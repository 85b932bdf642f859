// Phone conversations a dead replica was holding: after a takeover they are still `active` in storage, but their
// calls are gone (the new holder hangs them up). Each is ended through the runtime, so its receipt gets the
// `call_ended` event (reason `replica_failed`) and its summary as any other ended call.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../src/platform/db/index.ts";
import { conversations } from "../src/platform/db/schema/index.ts";
import type { Logger } from "../src/platform/log.ts";
import type { ConversationRuntime } from "../src/runtime/conversation.ts";

export const REPLICA_FAILED = "replica_failed";

/**
 * Ends every active phone call of another replica. Only the holder of the Stasis application takes calls, so
 * once it holds it every other replica's phone conversation is left over (calls that began before replica ids were
 * recorded have none, and are left over too). In-browser voice tests (`source: talk`) run on any replica: never
 * touched.
 */
export async function endCallsOfOtherReplicas(db: Db, runtime: ConversationRuntime, replicaId: string, log: Logger): Promise<string[]> {
  const rows = await db
    .select({ id: conversations.id, organizationId: conversations.organizationId })
    .from(conversations)
    .where(and(eq(conversations.channel, "voice"), eq(conversations.source, "voice"), eq(conversations.status, "active"), sql`${conversations.metadata}->>'replicaId' is distinct from ${replicaId}`));
  const ended: string[] = [];
  for (const row of rows) {
    try {
      await runtime.end(row.organizationId, row.id, REPLICA_FAILED);
      ended.push(row.id);
    } catch (err) {
      log.error("could not end a call a dead replica left", { conversationId: row.id, err });
    }
  }
  return ended;
}
