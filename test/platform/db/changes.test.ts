// The change feed's own rules, against a scripted stand-in of the two postgres-js calls it makes (`notify`, and
// `listen(channel, onnotify, onlisten)`, whose onlisten runs on the first LISTEN and after every reconnect). The
// real LISTEN/NOTIFY, a reconnect included, is exercised by test/cluster/state.test.ts on Postgres.
import { describe, expect, it } from "bun:test";
import type postgres from "postgres";
import { createChangeFeed, NOTIFY_RETRIES } from "../../../src/platform/db/changes.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { until } from "../../support/until.ts";

function scriptedClient(opts: { failNotifies?: number } = {}) {
  let failures = opts.failNotifies ?? 0;
  const sent: string[] = [];
  const state: { onnotify?: (payload: string) => void; onlisten?: () => void; attempts: number } = { attempts: 0 };
  const client = {
    async notify(_channel: string, payload: string) {
      state.attempts++;
      if (failures > 0) {
        failures--;
        throw new Error("connection reset");
      }
      sent.push(payload);
      state.onnotify?.(payload);
    },
    async listen(_channel: string, onnotify: (payload: string) => void, onlisten?: () => void) {
      state.onnotify = onnotify;
      state.onlisten = onlisten;
      onlisten?.();
      return { state: {}, unlisten: async () => void (state.onnotify = undefined) };
    },
  };
  return { client: client as unknown as postgres.Sql, sent, state };
}

function recordingLog() {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", (l) => lines.push(l)) };
}

describe("the change feed", () => {
  it("retries a NOTIFY that failed, with a warning, until it goes through", async () => {
    const { client, sent, state } = scriptedClient({ failNotifies: 2 });
    const { lines, log } = recordingLog();
    const feed = createChangeFeed(client, log);
    feed.announce("agent", "agt_1");
    await until(() => sent.length === 1);
    expect(sent[0]).toEndWith(" agent:agt_1");
    expect(state.attempts).toBe(3);
    expect(lines.filter((l) => l.includes("WARN") && l.includes("retrying"))).toHaveLength(2);
  });

  it("gives up after its retries with an error naming the TTL as what still brings the change", async () => {
    const { client, state } = scriptedClient({ failNotifies: 100 });
    const { lines, log } = recordingLog();
    createChangeFeed(client, log).announce("api_key", "key_1");
    await until(() => lines.some((l) => l.includes("ERROR")), 30_000);
    expect(state.attempts).toBe(NOTIFY_RETRIES + 1);
    expect(lines.find((l) => l.includes("ERROR"))).toContain("CACHE_TTL_SECONDS");
  });

  it("delivers other replicas' announcements, not its own twice, and only to the topic's subscribers", async () => {
    const { client, state } = scriptedClient();
    const feed = createChangeFeed(client, createLogger("error"));
    const seen: string[] = [];
    feed.subscribe("agent", { changed: (id) => seen.push(`agent ${id}`), flush: () => seen.push("flush") });
    feed.subscribe("publishable_key", { changed: (id) => seen.push(`pk ${id}`), flush: () => {} });
    await feed.start();
    feed.announce("agent", "agt_here");
    await until(() => state.attempts === 1);
    state.onnotify!("0123456789ab agent:agt_there");
    feed.announce("knowledge_source", "agt_1/src_1", "others");
    expect(seen).toEqual(["agent agt_here", "agent agt_there"]);
  });

  it("flushes every subscriber when its LISTEN connection is re-established, not when it is first made", async () => {
    const { client, state } = scriptedClient();
    const feed = createChangeFeed(client, createLogger("error"));
    const flushed: string[] = [];
    feed.subscribe("agent", { changed: () => {}, flush: () => flushed.push("agent") });
    feed.subscribe("api_key", { changed: () => {}, flush: () => flushed.push("api_key") });
    await feed.start();
    expect(flushed).toEqual([]);
    state.onlisten!();
    expect(flushed).toEqual(["agent", "api_key"]);
  });
});
