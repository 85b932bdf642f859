// The Test tag: simulate a conversation (SSE of its receipt events) and probe runs (scenario → verdict).
import { Elysia, t } from "elysia";
import type { Principal } from "../../platform/auth/principal.ts";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import { EVENT_STREAM, streamEvents } from "../../platform/http/sse.ts";
import type { ConversationStore } from "../../runtime/store.ts";
import type { ApiContext } from "../context.ts";
import { ProbeRun, ProbeRunBody, SimulateBody } from "./model.ts";
import { ProbeService } from "./probes.ts";

const tags = ["Test"];
const AgentParams = t.Object({ id: t.String({ maxLength: 64, description: "Agent id" }) });
const SSE_RESPONSE = { description: "text/event-stream of AuditEventDTO frames (event: <eventType>), ending with event: done or event: error" };

export function testRoutes(ctx: ApiContext, store: ConversationStore) {
  const probes = new ProbeService(ctx.database.db, ctx.agents, ctx.runtime, store, ctx.log, { id: ctx.config.replicaId, alone: ctx.database.kind === "pglite" });
  void probes.failInterrupted().catch((error) => ctx.log.warn("could not close interrupted probe runs", { error }));
  ctx.jobs.schedule("probe-lease-check", "* * * * *", () => probes.failAbandoned());
  const me = (c: unknown) => (c as { principal: Principal }).principal;

  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .post(
      "/agents/:id/simulate",
      async ({ params, body, request, path, ...c }) => {
        const principal = me(c);
        const draftMode = body.draftMode ?? true;
        // Resolved before the stream opens, so a missing version is a plain 409 problem, not a stream.
        const { compiled, versionId } = await ctx.agents.compiledFor(principal.organizationId, params.id, draftMode);
        const channel = body.mode && body.mode !== "text" ? "voice" : "chat";
        return streamEvents(
          request.signal,
          async (emit, signal) => {
            const sink = { event: (e: { eventType: string }) => emit(e.eventType, e) };
            const opened = await ctx.runtime.start(
              { organizationId: principal.organizationId, agentId: params.id, agentVersionId: versionId, draftMode, compiled, channel, source: "simulate", callerNumber: body.callerNumber ?? null },
              sink,
            );
            let ended = opened.ended;
            for (const text of body.transcript ?? []) {
              if (ended || signal.aborted) break;
              const result = await ctx.runtime.turn(principal.organizationId, opened.conversationId, { type: "text", text }, sink, signal);
              ended = result.ended;
              // A simulated call has no far end to connect: a transfer it asks for counts as done.
              if (result.transfer && !ended) {
                await ctx.runtime.end(principal.organizationId, opened.conversationId, "transferred", sink);
                ended = true;
              }
            }
            if (!ended) await ctx.runtime.end(principal.organizationId, opened.conversationId, signal.aborted ? "client_disconnected" : "simulation_complete", signal.aborted ? {} : sink);
          },
          { instance: path },
        );
      },
      {
        scope: "agents:write",
        params: AgentParams,
        body: SimulateBody,
        parse: "json",
        response: { 200: t.Any(SSE_RESPONSE), ...problems(400, 404, 409, 503) },
        detail: {
          summary: "Simulate a conversation",
          [EVENT_STREAM]: SSE_RESPONSE.description,
          description: "Runs the draft (default) or the published version through the scripted user turns and streams the receipt events as SSE. Draft runs are never billed.",
          tags,
        },
      },
    )
    .post(
      "/agents/:id/probe/run",
      async ({ params, body, set, ...c }) => {
        set.status = 202;
        const run = await probes.start(me(c), params.id, body);
        return ok({ runId: run.runId, status: run.status }, "Run kicked.");
      },
      {
        scope: "agents:write",
        idempotent: true,
        params: AgentParams,
        body: ProbeRunBody,
        parse: "json",
        response: { 202: Envelope(t.Object({ runId: t.String(), status: t.String() })), ...problems(400, 404, 409, 422) },
        detail: {
          summary: "Start a probe run",
          description: "Plays a scenario (greeting, handoff, unknown_question, playbook:<id>, or custom) against the agent in loopback and judges it. Poll the result or stream its progress.",
          tags,
        },
      },
    )
    .get("/agents/:id/probe/runs/:runId", async ({ params, ...c }) => ok(await probes.get(me(c).organizationId, params.id, params.runId), "Probe result."), {
      scope: "agents:read",
      params: t.Object({ id: t.String({ maxLength: 64 }), runId: t.String({ maxLength: 64 }) }),
      response: { 200: Envelope(ProbeRun), ...problems(404) },
      detail: { summary: "Get a probe result", description: "Status, gates, failures, per-turn latency and conversation scores.", tags },
    })
    .get(
      "/agents/:id/probe/runs/:runId/stream",
      async ({ params, request, path, ...c }) => {
        const { organizationId } = me(c);
        await probes.get(organizationId, params.id, params.runId); // 404 before the stream opens
        return streamEvents(request.signal, (emit, signal) => probes.follow(organizationId, params.id, params.runId, emit, signal), { instance: path });
      },
      {
        scope: "agents:read",
        params: t.Object({ id: t.String({ maxLength: 64 }), runId: t.String({ maxLength: 64 }) }),
        response: { 200: t.Any(SSE_RESPONSE), ...problems(404) },
        detail: { summary: "Stream probe progress", [EVENT_STREAM]: SSE_RESPONSE.description, description: "The run's receipt events as SSE until it finishes (event: done), or its stored receipt when already finished.", tags },
      },
    );
}
