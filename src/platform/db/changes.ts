// Change announcements for in-process caches. Every process sees its own announcements at once; on Postgres they
// also travel over LISTEN/NOTIFY so other replicas drop stale entries. NOTIFY is fire-and-forget in Postgres: a
// notification sent while a replica's LISTEN connection is down never reaches it. So a failed NOTIFY is retried, a
// LISTEN connection that comes back flushes every subscriber (it may have missed changes while it was away), and
// the caches keep a TTL as the last safety net (CACHE_TTL_SECONDS).
import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import type { Logger } from "../log.ts";

const CHANNEL = "flowyte_changes";

export type ChangeTopic = "agent" | "api_key" | "publishable_key" | "knowledge_source" | "integration";

export interface ChangeSubscriber {
  /** One entry changed (or went away). */
  changed(id: string): void;
  /** Changes may have been missed: drop (or re-check) everything. */
  flush(): void;
}

export interface ChangeFeed {
  /**
   * Tell subscribers that `id` changed: here at once, and on Postgres every other replica. `others`: only the other
   * replicas (this process applied the change itself).
   */
  announce(topic: ChangeTopic, id: string, scope?: "everywhere" | "others"): void;
  subscribe(topic: ChangeTopic, subscriber: ChangeSubscriber): void;
  start(): Promise<void>;
  /** Stop listening (and retrying): announcements from other replicas no longer arrive. */
  stop(): Promise<void>;
}

/** NOTIFY attempts after a failure, the first this long after it, each later one twice as late (~3 s in all). */
export const NOTIFY_RETRIES = 5;
const NOTIFY_FIRST_RETRY_MS = 100;

export function createChangeFeed(client: postgres.Sql | null, log: Logger): ChangeFeed {
  const subscribers = new Map<ChangeTopic, ChangeSubscriber[]>();
  // Postgres hands a NOTIFY to the sender's own LISTEN connection too: the origin tells those apart.
  const origin = randomBytes(6).toString("hex");
  const retries = new Set<ReturnType<typeof setTimeout>>();
  let listener: { unlisten(): Promise<void> } | null = null;
  let stopped = false;

  const deliver = (topic: ChangeTopic, id: string) => {
    for (const s of subscribers.get(topic) ?? []) s.changed(id);
  };
  const flushAll = () => {
    for (const list of subscribers.values()) for (const s of list) s.flush();
  };
  const notify = (payload: string, attempt: number) => {
    client!.notify(CHANNEL, payload).catch((error) => {
      if (stopped) return;
      if (attempt >= NOTIFY_RETRIES) {
        log.error("a change could not be announced to the other replicas; they see it when their cache entry expires (CACHE_TTL_SECONDS)", { payload, error });
        return;
      }
      log.warn("announcing a change to the other replicas failed; retrying", { payload, attempt: attempt + 1, error });
      const timer = setTimeout(() => {
        retries.delete(timer);
        notify(payload, attempt + 1);
      }, NOTIFY_FIRST_RETRY_MS * 2 ** attempt);
      retries.add(timer);
    });
  };

  return {
    announce(topic, id, scope = "everywhere") {
      if (scope === "everywhere") deliver(topic, id);
      if (client && !stopped) notify(`${origin} ${topic}:${id}`, 0);
    },
    subscribe(topic, subscriber) {
      subscribers.set(topic, [...(subscribers.get(topic) ?? []), subscriber]);
    },
    async start() {
      if (!client) return;
      stopped = false;
      let listens = 0;
      listener = await client.listen(
        CHANNEL,
        (payload) => {
          const space = payload.indexOf(" ");
          const colon = payload.indexOf(":", space);
          if (space < 0 || colon < 0 || payload.slice(0, space) === origin) return;
          deliver(payload.slice(space + 1, colon) as ChangeTopic, payload.slice(colon + 1));
        },
        // postgres-js runs this on the first LISTEN and again each time its connection is re-established.
        () => {
          if (listens++ === 0) return;
          log.warn("the change feed's LISTEN connection was re-established; flushing caches, which may have missed changes");
          flushAll();
        },
      );
    },
    async stop() {
      stopped = true;
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      await listener?.unlisten().catch(() => {});
      listener = null;
    },
  };
}
