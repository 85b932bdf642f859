// Probe runs: a scenario with expected outcomes played against an agent in loopback (no phone line), judged
// by gates on its receipt. Runs go on in the background; their progress streams as the receipt's events.
// A run belongs to the replica running it (REPLICA_ID), which renews its lease while it runs: a run cut off by a
// restart is failed by its own replica when it starts again with the same id, or by any replica once its lease
// expired, never by a replica that merely starts while another is running it.
import { and, eq, lt, or, sql } from "drizzle-orm";
import type { Principal } from "../../platform/auth/principal.ts";
import type { Db } from "../../platform/db/index.ts";
import { probeRuns } from "../../platform/db/schema/index.ts";
import { notFound, Problem } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import type { Logger } from "../../platform/log.ts";
import type { CompiledConfig, CompiledPlaybook } from "../../runtime/compiled.ts";
import type { ConversationRuntime } from "../../runtime/conversation.ts";
import type { AuditEvent } from "../../runtime/receipt.ts";
import type { ConversationStore } from "../../runtime/store.ts";
import type { AgentsService } from "../agents/service.ts";
import type { ProbeRunDto, ScenarioInput } from "./model.ts";

type RunRow = typeof probeRuns.$inferSelect;

/** A running probe's lease: renewed every LEASE_RENEW_MS, so a run whose lease is past has lost its replica. */
export const LEASE_MS = 60_000;
const LEASE_RENEW_MS = 20_000;

interface ActiveRun {
  events: AuditEvent[];
  listeners: Set<(event: AuditEvent | null) => void>;
}

interface Verdict {
  gatesPassed: boolean;
  failures: string[];
  latency: { perTurn: { turnIndex: number; responseLatencyMs: number }[] };
  conversation: { goalCompleted: boolean; goalCompletionScore: number; languageFidelity: number };
}

const SAMPLE_ANSWERS: Record<string, string> = {
  text: "The kitchen sink is leaking under the cabinet",
  name: "My name is Alex Smith",
  phone: "415 555 0100",
  email: "alex@example.com",
  date: "tomorrow",
  time: "3pm",
  datetime: "tomorrow at 3pm",
  number: "2",
  integer: "2",
  yes_no: "yes",
  address: "12 Main Street, Springfield",
  digits: "12345",
};

export class ProbeService {
  private active = new Map<string, ActiveRun>();

  /** `replica`: this process's REPLICA_ID, and whether it is the only one (the embedded store). */
  constructor(
    private db: Db,
    private agents: AgentsService,
    private runtime: ConversationRuntime,
    private store: ConversationStore,
    private log: Logger,
    private replica: { id: string; alone: boolean },
  ) {}

  /**
   * At start: runs this replica was running before it stopped cannot finish, so say so instead of leaving them
   * "running" forever. Alone on the embedded store, every run still running is one of those.
   */
  async failInterrupted() {
    await this.fail(
      and(eq(probeRuns.status, "running"), this.replica.alone ? undefined : eq(probeRuns.replicaId, this.replica.id)),
      "interrupted by a server restart",
    );
  }

  /** Runs whose replica stopped renewing their lease (it died, or lost its storage): failed by whichever replica looks. */
  async failAbandoned() {
    await this.fail(
      and(eq(probeRuns.status, "running"), or(lt(probeRuns.leaseExpiresAt, sql`now()`), sql`${probeRuns.leaseExpiresAt} is null`)),
      "interrupted: the replica running it stopped",
    );
  }

  private async fail(where: ReturnType<typeof and>, reason: string) {
    const failed = await this.db
      .update(probeRuns)
      .set({ status: "failed", result: { failures: [reason] }, finishedAt: new Date(), leaseExpiresAt: null })
      .where(where)
      .returning({ id: probeRuns.id });
    if (failed.length) this.log.info(`failed ${failed.length} probe run(s): ${reason}`, { runIds: failed.map((r) => r.id) });
  }

  async start(principal: Principal, agentId: string, body: { scenarioId: string; mode: "loopback" | "phone"; draftMode?: boolean; scenario?: ScenarioInput }): Promise<ProbeRunDto> {
    if (body.mode === "phone") throw new Problem(422, "phone_probe_unavailable", "phone probes place a real call through the voice bridge; use mode loopback");
    const { compiled, versionId } = await this.agents.compiledFor(principal.organizationId, agentId, body.draftMode ?? true);
    const scenario = resolveScenario(body.scenarioId, body.scenario, compiled);
    const [row] = await this.db
      .insert(probeRuns)
      .values({
        id: newId("prb"),
        organizationId: principal.organizationId,
        agentId,
        scenarioId: body.scenarioId,
        mode: body.mode,
        status: "running",
        replicaId: this.replica.id,
        leaseExpiresAt: leaseEnd(),
      })
      .returning();
    const run: ActiveRun = { events: [], listeners: new Set() };
    this.active.set(row!.id, run);
    void this.execute(row!, compiled, versionId, body.draftMode ?? true, scenario, run);
    return toDto(row!);
  }

  async get(organizationId: string, agentId: string, runId: string): Promise<ProbeRunDto> {
    return toDto(await this.find(organizationId, agentId, runId));
  }

  /** Live events of a running probe (those so far first), or the stored receipt of a finished one. */
  async follow(organizationId: string, agentId: string, runId: string, emit: (type: string, data: unknown) => void, signal: AbortSignal) {
    const row = await this.find(organizationId, agentId, runId);
    const run = this.active.get(runId);
    if (run) {
      for (const e of run.events) emit(e.eventType, e);
      await new Promise<void>((resolve) => {
        const listener = (e: AuditEvent | null) => (e ? emit(e.eventType, e) : resolve());
        run.listeners.add(listener);
        signal.addEventListener("abort", () => {
          run.listeners.delete(listener);
          resolve();
        });
      });
    } else if (row.conversationId) {
      for (const e of await this.store.events(row.conversationId)) emit(e.eventType, e);
    }
    const final = await this.find(organizationId, agentId, runId);
    if (final.status === "failed") throw new Problem(500, "probe_failed", ((final.result?.failures as string[] | undefined) ?? ["the probe failed"]).join("; "));
  }

  private async execute(row: RunRow, compiled: CompiledConfig, versionId: string | null, draftMode: boolean, scenario: ScenarioInput, run: ActiveRun) {
    const sink = {
      event: (e: AuditEvent) => {
        run.events.push(e);
        for (const l of run.listeners) l(e);
      },
    };
    const perTurn: Verdict["latency"]["perTurn"] = [];
    let conversationId: string | null = null;
    // A run another replica failed (its lease ran out while storage was unreachable) stays failed.
    const stillOurs = and(eq(probeRuns.id, row.id), eq(probeRuns.status, "running"));
    const renew = setInterval(() => {
      this.db
        .update(probeRuns)
        .set({ leaseExpiresAt: leaseEnd() })
        .where(stillOurs)
        .catch((error) => this.log.warn("could not renew a probe run's lease", { runId: row.id, error }));
    }, LEASE_RENEW_MS);
    try {
      const opened = await this.runtime.start(
        { organizationId: row.organizationId, agentId: row.agentId, agentVersionId: versionId, draftMode, compiled, channel: "chat", source: "probe", metadata: { probeRunId: row.id, scenarioId: row.scenarioId } },
        sink,
      );
      conversationId = opened.conversationId;
      await this.db.update(probeRuns).set({ conversationId }).where(eq(probeRuns.id, row.id));
      let ended = opened.ended;
      for (const [turnIndex, text] of scenario.turns.entries()) {
        if (ended) break;
        const started = performance.now();
        const result = await this.runtime.turn(row.organizationId, conversationId, { type: "text", text }, sink);
        perTurn.push({ turnIndex, responseLatencyMs: Math.round(performance.now() - started) });
        ended = result.ended;
      }
      if (!ended) await this.runtime.end(row.organizationId, conversationId, "probe_complete", sink);
      const verdict = judge(scenario, run.events, perTurn, compiled);
      await this.db
        .update(probeRuns)
        .set({ status: "completed", result: verdict as unknown as Record<string, unknown>, finishedAt: new Date(), leaseExpiresAt: null })
        .where(stillOurs);
    } catch (error) {
      this.log.warn("probe run failed", { runId: row.id, error });
      const message = error instanceof Problem ? error.detail : "the probe could not run to the end";
      await this.db.update(probeRuns).set({ status: "failed", result: { failures: [message] }, finishedAt: new Date(), leaseExpiresAt: null }).where(stillOurs);
    } finally {
      clearInterval(renew);
      this.active.delete(row.id);
      for (const l of run.listeners) l(null);
    }
  }

  /** The agent first, as on every agent route: another organization's agent is agent_not_found, whatever the run id. */
  private async find(organizationId: string, agentId: string, runId: string): Promise<RunRow> {
    await this.agents.get(organizationId, agentId);
    const [row] = await this.db
      .select()
      .from(probeRuns)
      .where(and(eq(probeRuns.id, runId), eq(probeRuns.agentId, agentId), eq(probeRuns.organizationId, organizationId)))
      .limit(1);
    if (!row) throw notFound("probe run", runId);
    return row;
  }
}

const leaseEnd = () => sql`now() + make_interval(secs => ${LEASE_MS / 1000})` as unknown as Date;

function toDto(row: RunRow): ProbeRunDto {
  const r = (row.result ?? {}) as Partial<Verdict>;
  return {
    runId: row.id,
    scenarioId: row.scenarioId,
    mode: row.mode,
    status: row.status as ProbeRunDto["status"],
    conversationId: row.conversationId,
    gatesPassed: r.gatesPassed ?? false,
    failures: r.failures ?? [],
    latency: r.latency ?? { perTurn: [] },
    conversation: r.conversation ?? { goalCompleted: false, goalCompletionScore: 0, languageFidelity: 0 },
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** The built-in scenarios, derived from the agent's own configuration, or a custom one from the request. */
function resolveScenario(id: string, custom: ScenarioInput | undefined, compiled: CompiledConfig): ScenarioInput {
  const canTransfer = Boolean(compiled.agent.handoffConfig.transferDestination || compiled.agent.handoffConfig.transferRules?.length);
  if (id === "custom") {
    if (!custom) throw new Problem(400, "validation_error", "scenarioId custom needs a scenario", { errors: [{ field: "scenario", message: "is required when scenarioId is custom" }] });
    return custom;
  }
  if (id === "greeting") return { name: "Greets the caller", turns: [], expect: { saysAny: [compiled.agent.greeting.slice(0, 40)] } };
  if (id === "handoff") {
    return { name: "Hands a caller to a person", turns: ["I'd like to speak to a person, please."], expect: canTransfer ? { handoff: true } : { saysAny: ["take a message"] } };
  }
  if (id === "unknown_question") {
    return { name: "Admits what it does not know", turns: ["What is the airspeed velocity of an unladen swallow?"], expect: { saysAny: ["don't know", "do not know", "not sure"] } };
  }
  if (id.startsWith("playbook:")) {
    const playbook = compiled.playbooks.find((p) => p.id === id.slice("playbook:".length));
    if (!playbook) throw new Problem(404, "playbook_not_found", `no enabled playbook ${id.slice(9)} in this version`);
    return { name: `Completes ${playbook.name}`, turns: [playbook.description, ...answersFor(playbook)], expect: { goalCompleted: true } };
  }
  throw new Problem(400, "unknown_scenario", `unknown scenarioId ${id}: use greeting, handoff, unknown_question, playbook:<id> or custom`, {
    errors: [{ field: "scenarioId", message: "is not a known scenario" }],
  });
}

/** Plausible answers for each step, in the order a straight run through the graph meets them. */
function answersFor(playbook: CompiledPlaybook): string[] {
  const answers: string[] = [];
  const seen = new Set<string>();
  let node = playbook.graph.nodes.find((n) => n.type === "start");
  while (node && !seen.has(node.id)) {
    seen.add(node.id);
    if (node.type === "collect") {
      const d = node.data as { slotType?: string; options?: string[] };
      answers.push(d.slotType === "choice" ? (d.options?.[0] ?? "the first one") : (SAMPLE_ANSWERS[d.slotType ?? "text"] ?? SAMPLE_ANSWERS.text!));
    }
    if (node.type === "confirm") answers.push("yes");
    const out = playbook.graph.connections.filter((c) => c.source === node!.id);
    const next = out.find((c) => !c.sourceHandle || ["yes", "success", "out"].includes(c.sourceHandle)) ?? out[0];
    node = next ? playbook.graph.nodes.find((n) => n.id === next.target) : undefined;
  }
  return answers;
}

function judge(scenario: ScenarioInput, events: AuditEvent[], perTurn: Verdict["latency"]["perTurn"], compiled: CompiledConfig): Verdict {
  const said = events.filter((e) => e.eventType === "agent_message").map((e) => String(e.payload.text ?? ""));
  const allSaid = said.join(" \n ").toLowerCase();
  const gates: { name: string; ok: boolean }[] = [];
  const x = scenario.expect;
  gates.push({ name: "the agent spoke", ok: said.length > 0 });
  if (x.saysAny?.length) gates.push({ name: `says one of: ${x.saysAny.join(" | ")}`, ok: x.saysAny.some((p) => allSaid.includes(p.toLowerCase())) });
  for (const p of x.neverSays ?? []) gates.push({ name: `never says "${p}"`, ok: !allSaid.includes(p.toLowerCase()) });
  for (const name of x.toolCalls ?? []) gates.push({ name: `runs ${name}`, ok: events.some((e) => e.eventType === "tool_call" && e.payload.skillName === name && e.payload.status === "ok") });
  const handedOff = events.some((e) => e.eventType === "handoff");
  if (x.handoff !== undefined) gates.push({ name: x.handoff ? "hands off to a person" : "does not hand off", ok: handedOff === x.handoff });
  const goalCompleted = goalReached(events);
  if (x.goalCompleted !== undefined) gates.push({ name: x.goalCompleted ? "completes the goal" : "does not complete the goal", ok: goalCompleted === x.goalCompleted });
  if (x.maxTurnLatencyMs !== undefined) gates.push({ name: `every turn within ${x.maxTurnLatencyMs} ms`, ok: perTurn.every((t) => t.responseLatencyMs <= x.maxTurnLatencyMs!) });
  gates.push({ name: "no runtime errors", ok: !events.some((e) => e.eventType === "error") });

  const agentLanguages = events.filter((e) => e.eventType === "agent_message").map((e) => String(e.payload.language ?? ""));
  const expected = new Set(compiled.agent.languages);
  const passed = gates.filter((g) => g.ok).length;
  return {
    gatesPassed: passed === gates.length,
    failures: gates.filter((g) => !g.ok).map((g) => g.name),
    latency: { perTurn },
    conversation: {
      goalCompleted,
      goalCompletionScore: gates.length ? Number((passed / gates.length).toFixed(3)) : 0,
      languageFidelity: agentLanguages.length ? Number((agentLanguages.filter((l) => expected.has(l)).length / agentLanguages.length).toFixed(3)) : 0,
    },
  };
}

/** The conversation ended with its goal met (a playbook completed, a message taken). */
function goalReached(events: AuditEvent[]): boolean {
  return events.some((e) => e.eventType === "call_ended" && e.payload.goalCompleted === true);
}
