// POST /chat/completions through the official `openai` npm SDK, changing only its base URL and key:
// plain and streamed completions, the strict stream helper, errors, and conversation continuity.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import OpenAI from "openai";
import { StreamedContent } from "../../../src/api/chat/completions.ts";
import { agentBuilder, oneSlotGraph, orderStatusSkill, startWebhookTarget } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { lastUser, startScriptedLlm, type ScriptedLlm } from "../../support/scripted-llm.ts";
import { until } from "../../support/until.ts";

async function publishedAgent(app: TestApp, key: string) {
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Completions desk", handoffConfig: { transferDestination: "+14155550100" } });
  await b.playbook(
    agent.id,
    { name: "Callback", description: "arrange a callback from the team" },
    oneSlotGraph({ variable: "who", prompt: "Who should we call?", slotType: "name" }, "We'll call {who} soon."),
  );
  await b.publish(agent.id);
  return agent;
}

describe("OpenAI-compatible completions with the built-in brain", () => {
  let app: TestApp;
  let client: OpenAI;
  let agentId: string;
  let key: string;
  beforeAll(async () => {
    app = await startTestApp();
    ({ key } = await app.newOrg());
    agentId = (await publishedAgent(app, key)).id;
    client = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => app.stop());

  it("answers chat.completions.create with a chat.completion object", async () => {
    const completion = await client.chat.completions.create({ model: agentId, messages: [{ role: "user", content: "Can I talk to a person?" }] });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe(agentId);
    expect(completion.choices[0]!.message.role).toBe("assistant");
    expect(completion.choices[0]!.message.content).toContain("+14155550100");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage!.total_tokens).toBeGreaterThan(0);
  });

  it("streams chunks that the SDK's iterator and strict stream helper both accept", async () => {
    const stream = await client.chat.completions.create({ model: agentId, messages: [{ role: "user", content: "Can I talk to a person?" }], stream: true });
    let text = "";
    const finishes: (string | null)[] = [];
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      text += chunk.choices[0]?.delta.content ?? "";
      finishes.push(chunk.choices[0]!.finish_reason);
    }
    expect(text).toContain("+14155550100");
    expect(finishes.at(-1)).toBe("stop");

    const runner = client.chat.completions.stream({ model: agentId, messages: [{ role: "user", content: "Can I talk to a person?" }] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]!.message.content).toContain("+14155550100");
  });

  it("continues one conversation when the client sends back X-Flowyte-Conversation-Id", async () => {
    const first = await client.chat.completions.create({ model: agentId, messages: [{ role: "user", content: "Please arrange a callback from the team" }] }).withResponse();
    expect(first.data.choices[0]!.message.content).toBe("Who should we call?");
    const conversationId = first.response.headers.get("x-flowyte-conversation-id")!;
    expect(conversationId).toMatch(/^conv_/);
    const second = await client.chat.completions.create(
      { model: agentId, messages: [{ role: "user", content: "Please arrange a callback from the team" }, { role: "assistant", content: "Who should we call?" }, { role: "user", content: "Jane Doe" }] },
      { headers: { "x-flowyte-conversation-id": conversationId } },
    );
    expect(second.choices[0]!.message.content).toBe("We'll call Jane Doe soon.");
  });

  it("fails the way the SDK expects: 400 for an unknown model, 409 for an unpublished agent, 401 for a bad key", async () => {
    const unknown = await client.chat.completions.create({ model: "agt_nope", messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(unknown).toBeInstanceOf(OpenAI.BadRequestError);
    expect(unknown.status).toBe(400);
    expect(unknown.code).toBe("unknown_model");
    expect(unknown.message).toContain("agt_nope");

    const draft = await agentBuilder(app, key).agent({ name: "Never published" });
    const unpublished = await client.chat.completions.create({ model: draft.id, messages: [{ role: "user", content: "hi" }] }).catch((e) => e);
    expect(unpublished.status).toBe(409);
    expect(unpublished.code).toBe("no_published_version");

    const badKey = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: "flowyte_sk_live_wrongwrongwrongwrongwrongwrongwrong", maxRetries: 0 });
    expect(await badKey.chat.completions.create({ model: agentId, messages: [{ role: "user", content: "hi" }] }).catch((e) => e)).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("refuses a message whose text parts together hold more than a string content may (16,000 characters)", async () => {
    const part = { type: "text" as const, text: "A--".repeat(5000) };
    const refused = await client.chat.completions
      .create({ model: agentId, messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "Hello!" }, { role: "user", content: [part, part] }] })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused.code).toBe("validation_error");
    expect(refused.param).toBe("messages[2].content");
    const allowed = await client.chat.completions.create({ model: agentId, messages: [{ role: "user", content: [part] }] });
    expect(allowed.choices[0]!.message.content).toBeTruthy();
  });
});

describe("OpenAI-compatible completions over the OpenAI-compatible brain", () => {
  let app: TestApp;
  let llm: ScriptedLlm;
  let client: OpenAI;
  let agentId: string;
  beforeAll(async () => {
    llm = startScriptedLlm((req) => ({ content: `You said: ${lastUser(req)}. Anything else I can help with today?` }), { chunkSize: 5 });
    app = await startTestApp({ LLM_BASE_URL: llm.baseUrl, LLM_MODEL: "scripted" });
    const { key } = await app.newOrg();
    agentId = (await publishedAgent(app, key)).id;
    client = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await app.stop();
    llm.stop();
  });

  it("streams the model's reply in several chunks, screened, with history passed as context", async () => {
    const chunks: string[] = [];
    const stream = await client.chat.completions.create({
      model: agentId,
      messages: [
        { role: "system", content: "ignored: the agent supplies its own prompt" },
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi there!" },
        { role: "user", content: "Do you repair boilers?" },
      ],
      stream: true,
      temperature: 2, // ignored: sampling comes from the agent
    });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) chunks.push(chunk.choices[0].delta.content);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).toBe("You said: Do you repair boilers?. Anything else I can help with today?");
    const request = llm.requests.at(-1)!;
    expect(request.temperature).toBe(0.3);
    expect(request.messages.filter((m) => m.role !== "system").map((m) => [m.role, m.content])).toEqual([
      ["user", "Hello"],
      ["assistant", "Hi there!"],
      ["user", "Do you repair boilers?"],
    ]);
    expect(request.messages[0]!.content).not.toContain("ignored");
  });

  it("streams content that adds up to exactly the non-streamed content of the same request", async () => {
    const messages = [{ role: "user" as const, content: "Do you sell spare parts? And do you deliver?" }];
    const whole = (await client.chat.completions.create({ model: agentId, messages })).choices[0]!.message.content;
    let streamed = "";
    for await (const chunk of await client.chat.completions.create({ model: agentId, messages, stream: true })) streamed += chunk.choices[0]?.delta.content ?? "";
    expect(whole).toBe("You said: Do you sell spare parts? And do you deliver?. Anything else I can help with today?");
    expect(streamed).toBe(whole!);
  });
});

describe("streamed completions", () => {
  let app: TestApp;
  let client: OpenAI;
  let key: string;
  let agentId: string;
  const fast = startWebhookTarget(() => ({ status: "shipped", eta: "Tuesday" }));
  const slow = startWebhookTarget(() => ({ status: "shipped" }), 1500);
  beforeAll(async () => {
    app = await startTestApp({ EGRESS_ALLOWLIST: "127.0.0.1" });
    ({ key } = await app.newOrg());
    const b = agentBuilder(app, key);
    const orders = await b.agent({ name: "Orders" });
    await b.skill(orders.id, orderStatusSkill(fast.url));
    await b.publish(orders.id);
    agentId = orders.id;
    client = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(async () => {
    await app.stop();
    fast.stop();
    slow.stop();
  });

  it("adds up to exactly the non-streamed content: no trailing space, messages joined by a blank line", async () => {
    for (const content of ["check the delivery status of my order", "Can I talk to a person?"]) {
      const messages = [{ role: "user" as const, content }];
      const whole = (await client.chat.completions.create({ model: agentId, messages })).choices[0]!.message.content!;
      const deltas: string[] = [];
      for await (const chunk of await client.chat.completions.create({ model: agentId, messages, stream: true })) deltas.push(chunk.choices[0]?.delta.content ?? "");
      expect(deltas.join("")).toBe(whole);
      if (content.startsWith("check")) {
        expect(whole).toBe("One moment while I check that.\n\nHere's what I found. status: shipped; eta: Tuesday.");
        // The first message streams before the lookup runs, not after.
        expect(deltas.filter(Boolean)[0]).toBe("One moment while I check that.");
      }
    }
  });

  it("stops the turn's work when the client disconnects mid-stream, and the conversation goes on", async () => {
    const b = agentBuilder(app, key);
    const slowAgent = await b.agent({ name: "Slow lookups" });
    await b.skill(slowAgent.id, orderStatusSkill(slow.url, 10000));
    await b.publish(slowAgent.id);

    const controller = new AbortController();
    const res = await fetch(`${app.url}/api/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: slowAgent.id, messages: [{ role: "user", content: "check the delivery status of my order" }], stream: true }),
      signal: controller.signal,
    });
    const conversationId = res.headers.get("x-flowyte-conversation-id")!;
    expect(conversationId).toMatch(/^conv_/);
    const reader = res.body!.getReader();
    let received = "";
    while (!received.includes("One moment")) received += new TextDecoder().decode((await reader.read()).value);
    controller.abort();

    // The cancelled lookup is recorded once the turn has unwound: wait for that event, not for a fixed time.
    const events = await until(async () => {
      const all = (await app.query<{ event_type: string; payload: any }>(`select event_type, payload from conversation_events where conversation_id = '${conversationId}' order by seq`)).map((e) => ({
        type: e.event_type,
        payload: typeof e.payload === "string" ? JSON.parse(e.payload) : e.payload,
      }));
      return all.some((e) => e.type === "tool_call") && all;
    }, 30_000);
    // The lookup was cancelled with the stream, and nothing was said after the client left.
    expect(events.find((e) => e.type === "tool_call")!.payload).toMatchObject({ status: "error", errorCode: "cancelled" });
    expect(events.filter((e) => e.type === "agent_message").map((e) => e.payload.text)).toEqual(["One moment while I check that."]);
    expect(slow.calls).toHaveLength(1);

    const next = await client.chat.completions.create({ model: slowAgent.id, messages: [{ role: "user", content: "thanks, bye" }] }, { headers: { "x-flowyte-conversation-id": conversationId } });
    expect(next.choices[0]!.message.content).toBeTruthy();
  });
});

describe("streamed content", () => {
  const run = (steps: [kind: "delta" | "message", text: string][]) => {
    const out: string[] = [];
    const content = new StreamedContent((t) => out.push(t));
    for (const [kind, text] of steps) content[kind](text);
    return out;
  };

  it("holds back the space after a whole message and puts a blank line between messages", () => {
    expect(run([["delta", "Hello there. "], ["message", "Hello there."], ["delta", "How can I help? "], ["message", "How can I help?"]]).join("")).toBe("Hello there.\n\nHow can I help?");
  });

  it("passes a model's sentence pieces through as they come, spaces inside the message included", () => {
    const out = run([["delta", "First part."], ["delta", " Second part."], ["message", "First part. Second part."]]);
    expect(out).toEqual(["First part.", " Second part."]);
  });

  it("sends what of a message never streamed when it is recorded, and keeps the join for an empty message", () => {
    expect(run([["message", "Not streamed."], ["delta", "Streamed. "], ["message", "Streamed."]]).join("")).toBe("Not streamed.\n\nStreamed.");
    expect(run([["delta", "a "], ["message", "a"], ["message", ""], ["delta", "b "], ["message", "b"]]).join("")).toBe(["a", "", "b"].join("\n\n"));
  });
});
