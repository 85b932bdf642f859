// Keeping an in-process search engine in step with the other replicas' writes. The engine is this process's own
// copy of knowledge_chunks (Meilisearch, when configured, is shared and needs none of this). A replica that indexes,
// refreshes, re-embeds or deletes a source announces it (topic knowledge_source, "<agentId>/<sourceId>"), and the
// others load that source's chunks again from storage. Behind the announcements, in case one is lost, every
// CACHE_TTL_SECONDS each replica compares the sources table with what it saw last (updatedAt, chunkCount,
// embeddingModel and status change with every write to a source's chunks) and reloads the sources that changed;
// a LISTEN connection that comes back does the same at once.
import { knowledgeSources } from "../platform/db/schema/index.ts";
import type { Database } from "../platform/db/index.ts";
import type { Logger } from "../platform/log.ts";

export interface ReplicaFollower {
  /** Take the sources table's state as seen; call before the engine is loaded, so changes during the load count. */
  baseline(): Promise<void>;
  /** Start checking every `everyMs`. */
  start(): void;
  /** Stop checking; resolves once a check under way is over. */
  stop(): Promise<void>;
}

export const sourceKey = (agentId: string, sourceId: string) => `${agentId}/${sourceId}`;

export function followOtherReplicas(deps: {
  database: Database;
  /** Load one source's chunks into the engine again from storage (none stored: it leaves the engine). */
  reloadSource(agentId: string, sourceId: string): Promise<void>;
  everyMs: number;
  log: Logger;
}): ReplicaFollower {
  const { database, log } = deps;
  let seen = new Map<string, { agentId: string; version: string }>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let checking: Promise<void> | null = null;

  const reload = (agentId: string, sourceId: string) =>
    deps.reloadSource(agentId, sourceId).catch((error) => log.warn("could not reload a knowledge source changed by another replica", { sourceId, error }));

  const read = async () => {
    const rows = await database.db
      .select({
        id: knowledgeSources.id,
        agentId: knowledgeSources.agentId,
        updatedAt: knowledgeSources.updatedAt,
        chunkCount: knowledgeSources.chunkCount,
        embeddingModel: knowledgeSources.embeddingModel,
        status: knowledgeSources.status,
      })
      .from(knowledgeSources);
    return new Map(rows.map((r) => [r.id, { agentId: r.agentId, version: `${r.updatedAt.getTime()}|${r.chunkCount}|${r.embeddingModel}|${r.status}` }]));
  };

  /** Reload every source whose row changed or went away since the last look. */
  const check = () =>
    (checking ??= (async () => {
      try {
        const now = await read();
        for (const [id, s] of now) if (seen.get(id)?.version !== s.version) await reload(s.agentId, id);
        for (const [id, s] of seen) if (!now.has(id)) await reload(s.agentId, id);
        seen = now;
      } catch (error) {
        log.warn("could not compare the knowledge sources with the other replicas' writes", { error });
      } finally {
        checking = null;
      }
    })());

  database.changes.subscribe("knowledge_source", {
    changed(key) {
      const slash = key.indexOf("/");
      if (slash > 0) void reload(key.slice(0, slash), key.slice(slash + 1));
    },
    flush: () => void check(),
  });

  return {
    async baseline() {
      seen = await read();
    },
    start() {
      timer ??= setInterval(() => void check(), deps.everyMs);
      timer.unref?.();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await checking;
    },
  };
}
