import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { createSealer } from "../../../src/platform/crypto.ts";
import { offlineGeocoder } from "../../../src/platform/geo/index.ts";
import { createLogger } from "../../../src/platform/log.ts";
import type { SkillType } from "../../../src/runtime/compiled.ts";
import { createSkillRunner, type Retriever } from "../../../src/runtime/tools/index.ts";
import { RetrievalTimeoutError } from "../../../src/runtime/tools/types.ts";
import { callContext, compiledSkill } from "../../support/skills-compiled.ts";

const searches: Parameters<Retriever["search"]>[0][] = [];
const retriever: Retriever = {
  async search(input) {
    searches.push(input);
    return [{ id: "chk_1", text: "We open at 8am.", score: 0.91, sourceId: "ks_1", sourceUrl: "https://example.com/hours", question: null }];
  },
};
const errors: string[] = [];
const deps = { sealer: createSealer(randomBytes(32)), config: { egressAllowlist: [], smtp: null }, geocoder: offlineGeocoder(), log: createLogger("error", (line) => errors.push(line)) };
const run = createSkillRunner({ ...deps, retriever });

describe("skill runner", () => {
  it("transfer: to the configured destination, or to the handoff rules", async () => {
    expect(await run(compiledSkill("transfer", { destination: "+14155550100", warm: true }), { reason: "billing dispute" }, callContext())).toEqual({
      kind: "transfer",
      destination: "+14155550100",
      warm: true,
      reason: "billing dispute",
    });
    // No warm setting: the runtime applies the agent's handoffConfig.warm.
    expect(await run(compiledSkill("transfer", {}), {}, callContext())).toEqual({ kind: "transfer", destination: null });
  });

  it("builtin: each call-control action", async () => {
    expect(await run(compiledSkill("builtin", { action: "end_call" }), {}, callContext())).toEqual({ kind: "end_call" });
    expect(await run(compiledSkill("builtin", { action: "end_call", message: "Goodbye!" }), {}, callContext())).toEqual({ kind: "end_call", message: "Goodbye!" });
    expect(await run(compiledSkill("builtin", { action: "take_message" }), {}, callContext())).toEqual({ kind: "take_message" });
    expect(await run(compiledSkill("builtin", { action: "repeat" }), {}, callContext())).toEqual({ kind: "repeat" });
    expect(await run(compiledSkill("builtin", { action: "collect_digits", variable: "account_pin", max_digits: 4, submit_key: "#" }), {}, callContext())).toEqual({
      kind: "collect_digits",
      variable: "account_pin",
      maxDigits: 4,
      submitKey: "#",
    });
  });

  it("playbook: starts the configured playbook", async () => {
    expect(await run(compiledSkill("playbook", { playbookId: "pbk_1" }), {}, callContext())).toEqual({ kind: "start_playbook", playbookId: "pbk_1" });
  });

  it("knowledge_query: passages from the retriever, scoped to the agent and the configured sources", async () => {
    const outcome = await run(compiledSkill("knowledge_query", { sourceIds: ["ks_1"], limit: 2 }), { query: "When do you open?" }, callContext());
    expect(outcome).toEqual({ kind: "result", data: { passages: [{ text: "We open at 8am.", score: 0.91, sourceId: "ks_1", sourceUrl: "https://example.com/hours" }] } });
    expect(searches.at(-1)).toEqual({ organizationId: "org_test", agentId: "agt_test", query: "When do you open?", limit: 2, sourceIds: ["ks_1"] });
    await run(compiledSkill("knowledge_query", { limit: 3 }), { topic: "parking" }, callContext());
    expect(searches.at(-1)).toEqual({ organizationId: "org_test", agentId: "agt_test", query: "parking", limit: 3 });
  });

  it("knowledge_query: no passages without a retriever", async () => {
    const bare = createSkillRunner(deps);
    expect(await bare(compiledSkill("knowledge_query", { limit: 3 }), { query: "hours" }, callContext())).toEqual({ kind: "result", data: { passages: [] } });
  });

  it("integration-backed types and mcp answer integration_not_connected", async () => {
    const kinds: [SkillType, Record<string, unknown>, string][] = [
      ["db_query", { sql_template: "select 1" }, "postgres"],
      ["db_query", { sql_template: "select 1", integration: "mysql" }, "mysql"],
      ["native_sql", {}, "postgres"],
      ["native_rest", {}, "rest"],
      ["native_graphql", {}, "graphql"],
      ["calendar", {}, "google_calendar"],
      ["google_sheets", {}, "google_sheets"],
      ["crm", {}, "hubspot"],
      ["sms", {}, "sms"],
      ["mcp", {}, "mcp"],
    ];
    for (const [type, config, kind] of kinds) {
      expect(await run(compiledSkill(type, config), {}, callContext())).toEqual({ kind: "error", code: "integration_not_connected", message: `connect the ${kind} integration first` });
    }
  });

  it("answers knowledge_query's timeout when the search passes its deadline, searching with the turn's signal", async () => {
    let signal: AbortSignal | undefined;
    const stuck = createSkillRunner({
      ...deps,
      retriever: {
        search: async (_input, options) => {
          signal = options?.signal;
          throw new RetrievalTimeoutError(2000);
        },
      },
    });
    const ctx = callContext();
    expect(await stuck(compiledSkill("knowledge_query", {}), { query: "x" }, ctx)).toEqual({ kind: "error", code: "timeout", message: "knowledge search did not answer within 2000 ms" });
    expect(signal).toBe(ctx.signal);
  });

  it("turns an executor that throws into a skill_failed outcome and logs it", async () => {
    const broken = createSkillRunner({ ...deps, retriever: { search: async () => Promise.reject(new Error("index offline")) } });
    expect(await broken(compiledSkill("knowledge_query", {}), { query: "x" }, callContext())).toEqual({ kind: "error", code: "skill_failed", message: "the action failed unexpectedly" });
    expect(errors.at(-1)).toContain("index offline");
  });
});
