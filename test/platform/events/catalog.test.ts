// The event catalog and docs/events.md (what the webhooks will publish) name the same event types.
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { aggregateTypeOf, EVENT_TYPES } from "../../../src/platform/events/index.ts";

const doc = readFileSync(join(import.meta.dir, "../../../docs/events.md"), "utf8");

describe("event catalog", () => {
  it("documents every event type under its own heading in docs/events.md", () => {
    for (const type of EVENT_TYPES) expect({ type, documented: doc.includes(`### \`${type}\``) }).toEqual({ type, documented: true });
    const headed = [...doc.matchAll(/^### `([a-z_]+\.[a-z_]+)`/gm)].map((m) => m[1]);
    expect(headed.sort()).toEqual([...EVENT_TYPES].sort());
  });

  it("files each event under the resource it is about", () => {
    expect(EVENT_TYPES.map((t) => [t, aggregateTypeOf(t)])).toEqual([
      ["agent.published", "agent"],
      ["knowledge_source.indexed", "knowledge_source"],
      ["knowledge_source.failed", "knowledge_source"],
      ["number.assigned", "number"],
      ["number.unassigned", "number"],
      ["number.released", "number"],
      ["conversation.started", "conversation"],
      ["conversation.ended", "conversation"],
      ["handoff.completed", "conversation"],
    ]);
  });
});
