import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let b: ReturnType<typeof agentBuilder>;
beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  b = agentBuilder(app, key);
});
afterAll(() => app.stop());

async function waitForRun(agentId: string, runId: string) {
  for (let i = 0; i < 200; i++) {
    const res = await app.api("GET", `/api/v1/agents/${agentId}/probe/runs/${runId}`, { key });
    if (res.status !== 200) throw new Error(`probe run ${runId}: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.body.data.status !== "running" && res.body.data.status !== "queued") return res.body.data;
    await Bun.sleep(25);
  }
  throw new Error("probe did not finish");
}

const start = (agentId: string, body: Record<string, unknown>) => app.api("POST", `/api/v1/agents/${agentId}/probe/run`, { key, body });

describe("probe runs", () => {
  it("runs the greeting scenario and passes its gates", async () => {
    const agent = await b.agent({ name: "Probe me", greeting: "Welcome to Acme support." });
    const res = await start(agent.id, { scenarioId: "greeting", mode: "loopback" });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ success: true, message: "Run kicked." });
    expect(res.body.data.runId).toMatch(/^prb_/);
    const run = await waitForRun(agent.id, res.body.data.runId);
    expect(run).toMatchObject({ status: "completed", gatesPassed: true, failures: [], conversation: { languageFidelity: 1 } });
    expect(run.conversationId).toMatch(/^conv_/);
  });

  it("completes a playbook scenario with generated answers and reports per-turn latency", async () => {
    const agent = await b.agent({ name: "Callback desk" });
    const playbook = await b.playbook(
      agent.id,
      { name: "Callback", description: "arrange a callback from the team" },
      {
        nodes: [
          { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
          { id: "n", type: "collect", position: { x: 0, y: 1 }, data: { variable: "caller", prompt: "Who should we call?", slotType: "name" } },
          { id: "p", type: "collect", position: { x: 0, y: 2 }, data: { variable: "phone", prompt: "On what number?", slotType: "phone" } },
          { id: "e", type: "end", position: { x: 0, y: 3 }, data: { message: "We'll call {caller} on {phone}.", outcome: "completed" } },
        ],
        connections: [
          { id: "1", source: "s", target: "n" },
          { id: "2", source: "n", target: "p" },
          { id: "3", source: "p", target: "e" },
        ],
      },
    );
    const res = await start(agent.id, { scenarioId: `playbook:${playbook.id}`, mode: "loopback" });
    const run = await waitForRun(agent.id, res.body.data.runId);
    expect(run.failures).toEqual([]);
    expect(run).toMatchObject({ status: "completed", gatesPassed: true, conversation: { goalCompleted: true, goalCompletionScore: 1 } });
    expect(run.latency.perTurn.map((t: { turnIndex: number }) => t.turnIndex)).toEqual([0, 1, 2]);
    for (const t of run.latency.perTurn) expect(t.responseLatencyMs).toBeGreaterThanOrEqual(0);
  });

  it("fails a gate the agent cannot meet and says which", async () => {
    const agent = await b.agent({ name: "No handoff" });
    const res = await start(agent.id, { scenarioId: "custom", mode: "loopback", scenario: { turns: ["let me speak to a person"], expect: { handoff: true, neverSays: ["take a message"] } } });
    const run = await waitForRun(agent.id, res.body.data.runId);
    expect(run.status).toBe("completed");
    expect(run.gatesPassed).toBe(false);
    expect(run.failures).toEqual(['never says "take a message"', "hands off to a person"]);
  });

  it("streams a run's events and ends with done, live or replayed", async () => {
    const agent = await b.agent({ name: "Streamed" });
    const { runId } = (await start(agent.id, { scenarioId: "unknown_question", mode: "loopback" })).body.data;
    const read = async () => {
      const r = await fetch(`${app.url}/api/v1/agents/${agent.id}/probe/runs/${runId}/stream`, { headers: { authorization: `Bearer ${key}` } });
      expect(r.headers.get("content-type")).toContain("text/event-stream");
      return (await r.text()).split("\n\n").filter(Boolean);
    };
    const live = await read();
    expect(live[0]!.startsWith("event:call_started")).toBe(true);
    expect(live[live.length - 1]).toBe("event:done\ndata:{}");
    const run = await waitForRun(agent.id, runId);
    expect(run.gatesPassed).toBe(true);
    const replay = await read();
    expect(replay.filter((f) => f.startsWith("event:user_utterance"))).toHaveLength(1);
    expect(replay[replay.length - 1]).toBe("event:done\ndata:{}");
  });

  it("refuses phone mode, unknown scenarios and other organizations' runs", async () => {
    const agent = await b.agent({ name: "Refusals" });
    const phone = await start(agent.id, { scenarioId: "greeting", mode: "phone" });
    expect(phone.status).toBe(422);
    expect(phone.body.code).toBe("phone_probe_unavailable");
    const unknown = await start(agent.id, { scenarioId: "nonsense", mode: "loopback" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ field: "scenarioId", message: "is not a known scenario" }]);
    const published = await start(agent.id, { scenarioId: "greeting", mode: "loopback", draftMode: false });
    expect(published.body.code).toBe("no_published_version");

    const { runId } = (await start(agent.id, { scenarioId: "greeting", mode: "loopback" })).body.data;
    await waitForRun(agent.id, runId);
    const other = await app.newOrg();
    expect((await app.api("GET", `/api/v1/agents/${agent.id}/probe/runs/${runId}`, { key: other.key })).status).toBe(404);
  });
});
