// POST /chat/completions through the official `openai` npm SDK, changing only its base URL and key:
// plain and streamed completions, the strict stream helper, errors, and conversation continuity.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import OpenAI from "openai";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";
import { lastUser, startScriptedLlm, type ScriptedLlm } from "../../support/scripted-llm.ts";

async function publishedAgent(app: TestApp, key: string) {
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Completions desk", handoffConfig: { transferDestination: "+14155550100" } });
  await b.playbook(
    agent.id,
    { name: "Callback", description: "arrange a callback from the team" },
    {
      nodes: [
        { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
        { id: "n", type: "collect", position: { x: 0, y: 1 }, data: { variable: "who", prompt: "Who should we call?", slotType: "name" } },
        { id: "e", type: "end", position: { x: 0, y: 2 }, data: { message: "We'll call {who} soon.", outcome: "completed" } },
      ],
      connections: [
        { id: "1", source: "s", target: "n" },
        { id: "2", source: "n", target: "e" },
      ],
    },
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
    expect(chunks.join("").trim()).toBe("You said: Do you repair boilers?. Anything else I can help with today?");
    const request = llm.requests.at(-1)!;
    expect(request.temperature).toBe(0.3);
    expect(request.messages.filter((m) => m.role !== "system").map((m) => [m.role, m.content])).toEqual([
      ["user", "Hello"],
      ["assistant", "Hi there!"],
      ["user", "Do you repair boilers?"],
    ]);
    expect(request.messages[0]!.content).not.toContain("ignored");
  });
});
