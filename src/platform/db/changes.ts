// Change announcements for in-process caches. Every process sees its own announcements at once;
// on Postgres they also travel over LISTEN/NOTIFY so other replicas drop stale entries.
import type postgres from "postgres";

const CHANNEL = "flowyte_changes";

export type ChangeTopic = "agent" | "api_key" | "publishable_key";

export interface ChangeFeed {
  announce(topic: ChangeTopic, id: string): void;
  subscribe(topic: ChangeTopic, handler: (id: string) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createChangeFeed(client: postgres.Sql | null): ChangeFeed {
  const handlers = new Map<ChangeTopic, Array<(id: string) => void>>();
  let listener: { unlisten(): Promise<void> } | null = null;
  const deliver = (topic: ChangeTopic, id: string) => {
    for (const h of handlers.get(topic) ?? []) h(id);
  };
  return {
    announce(topic, id) {
      deliver(topic, id);
      if (client) client.notify(CHANNEL, `${topic}:${id}`).catch(() => {});
    },
    subscribe(topic, handler) {
      handlers.set(topic, [...(handlers.get(topic) ?? []), handler]);
    },
    async start() {
      if (!client) return;
      listener = await client.listen(CHANNEL, (payload) => {
        const at = payload.indexOf(":");
        if (at > 0) deliver(payload.slice(0, at) as ChangeTopic, payload.slice(at + 1));
      });
    },
    async stop() {
      await listener?.unlisten().catch(() => {});
    },
  };
}
