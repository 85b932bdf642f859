// Conversations through POST /agents/{id}/simulate, with both brains: the built-in one and the
// OpenAI-compatible one against a scripted local LLM server.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { lastUser, startScriptedLlm, type ScriptedLlm } from "../../support/scripted-llm.ts";
import { until } from "../../support/until.ts";

let webhook: ReturnType<typeof startWebhookTarget>;
beforeAll(() => {
  webhook = startWebhookTarget((path) => (path === "/requests" ? { ticket: "T-1001", eta: "tomorrow" } : { ok: true }));
});
afterAll(() => webhook.stop());

/** A service-request agent: gather problem, address and time, confirm, call an http_webhook skill, end. */
async function serviceAgent(b: ReturnType<typeof agentBuilder>) {
  const agent = await b.agent({ name: "Plumbing desk", greeting: "Thanks for calling Acme Plumbing!" });
  const skill = await b.skill(agent.id, {
    name: "create_service_request",
    description: "Create a service request ticket for a repair visit",
    skillType: "http_webhook",
    parametersSchema: {
      type: "object",
      properties: { problem: { type: "string" }, address: { type: "string" }, time: { type: "string" } },
      required: ["problem", "address", "time"],
    },
    requiredParams: ["problem", "address", "time"],
    executionConfig: { url: `${webhook.url}/requests`, method: "POST", timeout_ms: 2000, response_mapping: { ticket_id: "ticket" } },
    isWrite: true,
  });
  await b.playbook(
    agent.id,
    { name: "Service request", description: "book a repair visit for a plumbing problem at home" },
    {
      nodes: [
        { id: "start", type: "start", position: { x: 0, y: 0 }, data: {} },
        { id: "problem", type: "collect", position: { x: 0, y: 1 }, data: { variable: "problem", prompt: "What's the problem?", slotType: "text" } },
        { id: "address", type: "collect", position: { x: 0, y: 2 }, data: { variable: "address", prompt: "What's the address?", slotType: "address" } },
        { id: "time", type: "collect", position: { x: 0, y: 3 }, data: { variable: "time", prompt: "When should we come?", slotType: "datetime" } },
        { id: "confirm", type: "confirm", position: { x: 0, y: 4 }, data: { prompt: "So that's {problem} at {address} on {time}. Shall I book it?" } },
        { id: "book", type: "skill", position: { x: 0, y: 5 }, data: { skillId: skill.id, inputs: { problem: "{problem}", address: "{address}", time: "{time}" }, outputs: { ticket_id: "ticket" } } },
        { id: "booked", type: "message", position: { x: 0, y: 6 }, data: { text: "Booked! Your ticket is {ticket_id}." } },
        { id: "done", type: "end", position: { x: 0, y: 7 }, data: { outcome: "completed" } },
        { id: "cancelled", type: "end", position: { x: 1, y: 5 }, data: { message: "No problem, I won't book it.", outcome: "abandoned" } },
      ],
      connections: [
        { id: "c1", source: "start", target: "problem" },
        { id: "c2", source: "problem", target: "address" },
        { id: "c3", source: "address", target: "time" },
        { id: "c4", source: "time", target: "confirm" },
        { id: "c5", source: "confirm", target: "book", sourceHandle: "yes" },
        { id: "c6", source: "confirm", target: "cancelled", sourceHandle: "no" },
        { id: "c7", source: "book", target: "booked", sourceHandle: "success" },
        { id: "c8", source: "booked", target: "done" },
      ],
    },
  );
  return { agent, skill };
}

const TRANSCRIPT = ["I need to book a repair visit for a plumbing problem", "My kitchen sink is leaking", "12 Main Street, Springfield", "tomorrow at 3pm", "yes", "no, that's all"];

function expectServiceConversation(result: Awaited<ReturnType<ReturnType<typeof agentBuilder>["simulate"]>>, calls: typeof webhook.calls) {
  expect(result.status).toBe(200);
  expect(result.said[0]).toBe("Thanks for calling Acme Plumbing!");
  expect(result.said).toContain("What's the problem?");
  expect(result.said).toContain("What's the address?");
  expect(result.said).toContain("When should we come?");
  expect(result.said.find((s) => s.startsWith("So that's"))).toMatch(/^So that's My kitchen sink is leaking at 12 Main Street, Springfield on \d{4}-\d{2}-\d{2}T15:00\. Shall I book it\?$/);
  expect(result.said).toContain("Booked! Your ticket is T-1001.");
  expect(calls).toHaveLength(1);
  expect(calls[0]!.method).toBe("POST");
  expect(calls[0]!.body).toMatchObject({ problem: "My kitchen sink is leaking", address: "12 Main Street, Springfield" });
  expect(calls[0]!.body.time).toMatch(/T15:00$/);
  const tool = result.events.find((e) => e.eventType === "tool_call")!;
  expect(tool.payload).toMatchObject({ skillName: "create_service_request", skillType: "http_webhook", status: "ok", result: { ticket: "T-1001", eta: "tomorrow" } });
  expect(typeof tool.payload.durationMs).toBe("number");
  const ended = result.events.find((e) => e.eventType === "call_ended")!;
  expect(ended.payload).toMatchObject({ goalCompleted: true, outcome: "completed" });
  expect(result.frames[result.frames.length - 1]).toBe("event:done\ndata:{}");
}

describe("simulate with the built-in brain", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
  });
  afterAll(() => app.stop());

  it("runs a service-request playbook end to end: gather, confirm, call the webhook, end", async () => {
    const b = agentBuilder(app, (await app.newOrg()).key);
    const { agent } = await serviceAgent(b);
    webhook.calls.length = 0;
    const result = await b.simulate(agent.id, { transcript: TRANSCRIPT });
    expectServiceConversation(result, webhook.calls);
    expect(result.events.find((e) => e.eventType === "call_started")!.payload).toMatchObject({ draftMode: true, brain: "builtin", source: "simulate" });
  });

  it("streams a receipt that is complete, ordered and identical to the stored one", async () => {
    const b = agentBuilder(app, (await app.newOrg()).key);
    const { agent } = await serviceAgent(b);
    const result = await b.simulate(agent.id, { transcript: TRANSCRIPT.slice(0, 3) });
    const seqs = result.events.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    for (let i = 1; i < result.events.length; i++) expect(result.events[i]!.tsMs).toBeGreaterThanOrEqual(result.events[i - 1]!.tsMs);
    expect(result.events[0]!.eventType).toBe("call_started");
    expect(result.events.findLast((e) => e.eventType !== "latency")!.eventType).toBe("call_ended");
    expect(result.events.filter((e) => e.eventType === "user_utterance").map((e) => e.payload.text)).toEqual(TRANSCRIPT.slice(0, 3));
    // Each user turn is answered before the next one starts.
    const types = result.events.map((e) => e.eventType).filter((t) => t === "user_utterance" || t === "agent_message");
    for (let i = 0; i < types.length; i++) if (types[i] === "user_utterance") expect(types[i + 1]).toBe("agent_message");

    const stored = await app.query<{ id: string; seq: number; event_type: string }>(
      `select id, seq, event_type from conversation_events where conversation_id = '${result.events[0]!.conversationId}' order by seq`,
    );
    expect(stored.map((r) => [r.id, Number(r.seq), r.event_type])).toEqual(result.events.map((e) => [e.id, e.seq, e.eventType]));
  });

  it("runs the draft in draftMode and the published version otherwise", async () => {
    const b = agentBuilder(app, (await app.newOrg()).key);
    const agent = await b.agent({ name: "Versions", greeting: "Hello from version one." });
    const unpublished = await b.simulate(agent.id, { draftMode: false, transcript: [] });
    expect(unpublished.status).toBe(409);
    expect(JSON.parse(unpublished.raw)).toMatchObject({ code: "no_published_version", type: "https://docs.flowyte.com/errors/no_published_version" });

    await b.publish(agent.id);
    await b.call("PATCH", `/api/v1/agents/${agent.id}`, { greeting: "Hello from the draft." });
    expect((await b.simulate(agent.id, { transcript: [] })).said[0]).toBe("Hello from the draft.");
    expect((await b.simulate(agent.id, { draftMode: false, transcript: [] })).said[0]).toBe("Hello from version one.");
    const published = await b.simulate(agent.id, { draftMode: false, transcript: [] });
    expect(published.events[0]!.payload).toMatchObject({ draftMode: false });
    expect(published.events[0]!.payload.agentVersionId).toMatch(/^ver_/);
  });

  it("stops the conversation when the client disconnects mid-stream", async () => {
    const { key } = await app.newOrg();
    const b = agentBuilder(app, key);
    const slow = startWebhookTarget(() => ({ status: "in transit" }), 100);
    try {
      const agent = await b.agent({ name: "Disconnect" });
      await b.skill(agent.id, {
        name: "delivery_status",
        description: "Check the delivery status of an order",
        skillType: "http_webhook",
        parametersSchema: { type: "object", properties: {} },
        executionConfig: { url: `${slow.url}/status`, method: "GET" },
      });
      const controller = new AbortController();
      const res = await fetch(`${app.url}/api/v1/agents/${agent.id}/simulate`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ transcript: Array.from({ length: 50 }, () => "check the delivery status please") }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      let first = "";
      while (!first.includes("\n\n")) first += new TextDecoder().decode((await reader.read()).value);
      const conversationId = JSON.parse(first.slice(first.indexOf("data:") + 5, first.indexOf("\n\n"))).conversationId;
      controller.abort();
      // Once the run has ended no more lookups may start: wait for the end, then watch a while longer.
      await until(async () => (await app.query<{ status: string }>(`select status from conversations where id = '${conversationId}'`))[0]?.status === "ended", 30_000);
      const callsAfterAbort = slow.calls.length;
      await Bun.sleep(300);
      expect(slow.calls.length).toBe(callsAfterAbort); // no more work once the client is gone
      expect(callsAfterAbort).toBeLessThan(10);
      const [row] = await app.query<{ status: string; outcome: string }>(`select status, outcome from conversations where id = '${conversationId}'`);
      expect(row!.status).toBe("ended");
      const [ended] = await app.query<{ payload: any }>(`select payload from conversation_events where conversation_id = '${conversationId}' and event_type = 'call_ended'`);
      expect((typeof ended!.payload === "string" ? JSON.parse(ended!.payload) : ended!.payload).reason).toBe("client_disconnected");
    } finally {
      slow.stop();
    }
  });

  it("refuses an http_webhook skill aimed at a private address, and records why", async () => {
    const b = agentBuilder(app, (await app.newOrg()).key);
    const agent = await b.agent({ name: "SSRF" });
    await b.skill(agent.id, {
      name: "fetch_metadata",
      description: "Look up the instance metadata for the caller",
      skillType: "http_webhook",
      parametersSchema: { type: "object", properties: {} },
      executionConfig: { url: "http://169.254.169.254/latest/meta-data/", method: "GET" },
    });
    const result = await b.simulate(agent.id, { transcript: ["please look up the instance metadata"] });
    const tool = result.events.find((e) => e.eventType === "tool_call")!;
    expect(tool.payload).toMatchObject({ skillName: "fetch_metadata", status: "error", errorCode: "egress_refused" });
    expect(result.said[1]).toContain("couldn't complete that");
  });
});

describe("simulate with the OpenAI-compatible brain (scripted local LLM)", () => {
  let app: TestApp;
  let llm: ScriptedLlm;
  beforeAll(async () => {
    llm = startScriptedLlm((req) => {
      const said = lastUser(req).toLowerCase();
      if (said.includes("book a repair")) return { content: "Sure, let's get that booked.", toolCalls: [{ name: "start_playbook", arguments: { playbook: "Service request" } }] };
      if (said.includes("that's all")) return { content: "Thanks for calling, goodbye!", toolCalls: [{ name: "end_conversation", arguments: {} }] };
      return { content: "I'm not sure." };
    });
    app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1", LLM_BASE_URL: llm.baseUrl, LLM_MODEL: "scripted-model" });
  });
  afterAll(async () => {
    await app.stop();
    llm.stop();
  });

  it("runs the same playbook conversation when the model starts the playbook", async () => {
    const b = agentBuilder(app, (await app.newOrg()).key);
    const { agent } = await serviceAgent(b);
    webhook.calls.length = 0;
    const result = await b.simulate(agent.id, { transcript: TRANSCRIPT });
    expectServiceConversation(result, webhook.calls);
    expect(result.said).toContain("Sure, let's get that booked.");
    expect(result.said).toContain("Thanks for calling, goodbye!");
    expect(result.events.find((e) => e.eventType === "call_started")!.payload.brain).toBe("openai-compatible");

    const first = llm.requests[0]!;
    expect(first.model).toBe("scripted-model");
    expect(first.stream).toBe(true);
    expect(first.messages[0]!.role).toBe("system");
    expect(first.messages[0]!.content).toContain("Plumbing desk");
    const toolNames = first.tools!.map((t) => t.function.name);
    expect(toolNames).toEqual(expect.arrayContaining(["create_service_request", "transfer_to_human", "end_conversation", "start_playbook"]));
    // The model is not consulted while the playbook owns the conversation.
    expect(llm.requests.map(lastUser)).toEqual([TRANSCRIPT[0]!, TRANSCRIPT[5]!]);
  });

  it("records a knowledge gap for a question the model answered without any relevant passage", async () => {
    const { key } = await app.newOrg();
    const b = agentBuilder(app, key);
    const agent = await b.agent({ name: "Gap finder" });
    await b.simulate(agent.id, { transcript: ["Do you service heat pumps in Denver?"] });
    const gaps = await app.api("GET", `/api/v1/agents/${agent.id}/knowledge-gaps`, { key });
    expect(gaps.body.data.gaps.map((g: { queryText: string }) => g.queryText)).toEqual(["Do you service heat pumps in Denver?"]);
  });
});
