// POST /responses through the official `openai` SDK (create, the strict stream helper) and the Vercel AI SDK's
// default provider (`createOpenAI` → `openai(id)`, which calls the Responses API), changing only base URL and key.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createOpenAI } from "@ai-sdk/openai";
import { Value } from "@sinclair/typebox/value";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import { ResponseObject, ResponseStreamEvent } from "../../../src/api/chat/model.ts";
import { agentBuilder, oneSlotGraph, orderStatusSkill, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { lastUser, startScriptedLlm, type ScriptedLlm } from "../../support/scripted-llm.ts";

const ORDER = "check the delivery status of my order";
const ORDER_REPLY = "One moment while I check that.\n\nHere's what I found. status: shipped; eta: Tuesday.";

describe("OpenAI-compatible responses", () => {
  let app: TestApp;
  let key: string;
  let client: OpenAI;
  let agentId: string;
  const orders = startWebhookTarget(() => ({ status: "shipped", eta: "Tuesday" }));
  beforeAll(async () => {
    app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
    ({ key } = await app.newOrg());
    const b = agentBuilder(app, key);
    const agent = await b.agent({ name: "Responses desk", handoffConfig: { transferDestination: "+14155550100" } });
    await b.playbook(
      agent.id,
      { name: "Callback", description: "arrange a callback from the team" },
      oneSlotGraph({ variable: "who", prompt: "Who should we call?", slotType: "name" }, "We'll call {who} soon."),
    );
    await b.skill(agent.id, orderStatusSkill(orders.url));
    await b.publish(agent.id);
    agentId = agent.id;
    client = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await app.stop();
    orders.stop();
  });

  describe("the official openai SDK", () => {
    it("answers responses.create with a response object whose output_text is the agent's reply", async () => {
      const response = await client.responses.create({ model: agentId, input: "Can I talk to a person?", instructions: "ignored: the agent has its own prompt" });
      expect(Value.Check(ResponseObject, JSON.parse(JSON.stringify({ ...response, output_text: undefined })))).toBe(true);
      expect(response).toMatchObject({ object: "response", status: "completed", model: agentId, error: null, instructions: null, previous_response_id: null });
      expect(response.id).toMatch(/^resp_[0-9A-Z]{52}$/);
      expect(response.output_text).toContain("+14155550100");
      expect(response.output).toEqual([
        { id: expect.stringMatching(/^msg_/), type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: response.output_text, annotations: [], logprobs: [] }] },
      ]);
      expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + response.usage!.output_tokens);
    });

    it("streams the Responses events in order; the strict stream helper's deltas add up to its final output_text", async () => {
      const stream = client.responses.stream({ model: agentId, input: [{ role: "user", content: ORDER }] });
      const events: { type: string; sequence_number: number }[] = [];
      const deltas: string[] = [];
      stream.on("event", (event) => events.push(event));
      stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
      const final = await stream.finalResponse();

      expect(final.output_text).toBe(ORDER_REPLY);
      expect(deltas.join("")).toBe(ORDER_REPLY);
      // The first message streams before the lookup runs, not after.
      expect(deltas[0]).toBe("One moment while I check that.");
      const types = [...new Set(events.map((e) => e.type))];
      expect(types).toEqual([
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
      ]);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      for (const event of events) expect(Value.Errors(ResponseStreamEvent, JSON.parse(JSON.stringify(event))).First()?.message).toBeUndefined();

      const whole = await client.responses.create({ model: agentId, input: ORDER });
      expect(whole.output_text).toBe(ORDER_REPLY);
    });

    it("continues the conversation of previous_response_id, with its state (a playbook half-way)", async () => {
      const first = await client.responses.create({ model: agentId, input: [{ role: "user", content: [{ type: "input_text", text: "Please arrange a callback from the team" }] }] });
      expect(first.output_text).toBe("Who should we call?");
      const second = await client.responses.create({ model: agentId, input: "Jane Doe", previous_response_id: first.id });
      expect(second.output_text).toBe("We'll call Jane Doe soon.");
      expect(second.previous_response_id).toBe(first.id);
      // Both answers are turns of one stored conversation (source openai).
      const rows = await app.query<{ source: string; user_turn_count: number }>(`select source, user_turn_count from conversations where id = 'conv_${first.id.slice(5, 31)}'`);
      expect(rows).toEqual([{ source: "openai", user_turn_count: 2 }]);
    });

    it("refuses what it cannot honour with a 400 naming the parameter, in OpenAI's error shape", async () => {
      const refused = async (body: Record<string, unknown>) => (await client.responses.create({ model: agentId, input: "hi", ...body } as never).catch((e) => e)) as InstanceType<typeof OpenAI.APIError>;
      for (const [body, param] of [
        [{ tools: [{ type: "function", name: "lookup", parameters: {} }] }, "tools"],
        [{ reasoning: { effort: "high" } }, "reasoning"],
        [{ text: { format: { type: "json_object" } } }, "text.format"],
        [{ include: ["message.output_text.logprobs"] }, "include"],
        [{ background: true }, "background"],
        [{ conversation: "conv_123" }, "conversation"],
        [{ store: false }, "store"],
      ] as const) {
        const error = await refused(body);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect([error.code, error.param]).toEqual(["unsupported_parameter", param]);
      }
      const image = await refused({ input: [{ role: "user", content: [{ type: "input_image", image_url: "https://example.com/a.png" }] }] });
      expect([image.status, image.code, image.param]).toEqual([400, "unsupported_input", "input[0].content[0].type"]);
      const toolOutput = await refused({ input: [{ type: "function_call_output", call_id: "c1", output: "{}" }] });
      expect([toolOutput.status, toolOutput.code, toolOutput.param]).toEqual([400, "unsupported_input", "input[0].type"]);
      const lastNotUser = await refused({ input: [{ role: "user", content: "hi" }, { role: "assistant", content: "Hello!" }] });
      expect([lastNotUser.status, lastNotUser.code]).toEqual([400, "invalid_input"]);
      const unknownModel = await refused({ model: "agt_nope" });
      expect([unknownModel.status, unknownModel.code, unknownModel.param]).toEqual([400, "unknown_model", "model"]);
      for (const previous of ["resp_nope", `resp_${"0".repeat(52)}`]) {
        const missing = await refused({ previous_response_id: previous });
        expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
        expect([missing.code, missing.param]).toEqual(["previous_response_not_found", "previous_response_id"]);
      }
    });

    it("does not continue another organization's conversation", async () => {
      const mine = await client.responses.create({ model: agentId, input: "Please arrange a callback from the team" });
      const other = await app.newOrg("Other org");
      const b = agentBuilder(app, other.key);
      const theirs = await b.agent({ name: "Theirs" });
      await b.publish(theirs.id);
      const otherClient = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: other.key, maxRetries: 0 });
      const error = await otherClient.responses.create({ model: theirs.id, input: "Jane Doe", previous_response_id: mine.id }).catch((e) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    });
  });

  describe("the Vercel AI SDK's default OpenAI provider", () => {
    const provider = () => createOpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key });

    it("generateText calls /responses and gets the agent's reply", async () => {
      const result = await generateText({ model: provider()(agentId), prompt: "Can I talk to a person?", maxRetries: 0 });
      expect(result.text).toContain("+14155550100");
      expect(result.finishReason).toBe("stop");
      expect(result.response.id).toMatch(/^resp_/);
    });

    it("streamText streams the deltas and ends with the same text", async () => {
      const result = streamText({ model: provider()(agentId), prompt: ORDER, maxRetries: 0 });
      const deltas: string[] = [];
      for await (const delta of result.textStream) deltas.push(delta);
      expect(deltas.join("")).toBe(ORDER_REPLY);
      expect(await result.text).toBe(ORDER_REPLY);
      expect(await result.finishReason).toBe("stop");
    });

    it("continues the conversation across turns: earlier assistant messages come back as item references", async () => {
      const openai = provider();
      const first = await generateText({ model: openai(agentId), messages: [{ role: "user", content: "Please arrange a callback from the team" }], maxRetries: 0 });
      expect(first.text).toBe("Who should we call?");
      const second = await generateText({
        model: openai(agentId),
        messages: [{ role: "user", content: "Please arrange a callback from the team" }, ...first.response.messages, { role: "user", content: "Jane Doe" }],
        maxRetries: 0,
      });
      expect(second.text).toBe("We'll call Jane Doe soon.");
      // One conversation: a response id carries its conversation's (resp_<conversation><turn>).
      expect(second.response.id.slice(5, 31)).toBe(first.response.id.slice(5, 31));
    });
  });
});

describe("OpenAI-compatible responses over the OpenAI-compatible brain", () => {
  let app: TestApp;
  let llm: ScriptedLlm;
  let key: string;
  let agentId: string;
  beforeAll(async () => {
    llm = startScriptedLlm((req) => ({ content: `You said: ${lastUser(req)}. Anything else I can help with today?` }), { chunkSize: 5 });
    app = await startTestApp({ LLM_BASE_URL: llm.baseUrl, LLM_MODEL: "scripted" });
    ({ key } = await app.newOrg());
    const b = agentBuilder(app, key);
    agentId = (await b.agent({ name: "Model desk" })).id;
    await b.publish(agentId);
  });
  afterAll(async () => {
    await app.stop();
    llm.stop();
  });

  it("streams the model's reply in several deltas, with earlier input messages as context and system text ignored", async () => {
    const openai = createOpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key });
    const result = streamText({
      model: openai(agentId),
      system: "ignored: the agent supplies its own prompt",
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi there!" },
        { role: "user", content: "Do you repair boilers?" },
      ],
      temperature: 2, // ignored: sampling comes from the agent
      maxRetries: 0,
    });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe("You said: Do you repair boilers?. Anything else I can help with today?");
    const request = llm.requests.at(-1)!;
    expect(request.temperature).toBe(0.3);
    expect(request.messages.filter((m) => m.role !== "system").map((m) => [m.role, m.content])).toEqual([
      ["user", "Hello"],
      ["assistant", "Hi there!"],
      ["user", "Do you repair boilers?"],
    ]);
    expect(JSON.stringify(request.messages)).not.toContain("ignored");
  });
});
