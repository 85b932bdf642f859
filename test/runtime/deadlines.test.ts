// Every call to another system has a deadline: a Meilisearch or an LLM server that accepts the connection and never
// answers costs a bounded time and a written fallback, never a frozen conversation; an error the LLM server sends in
// its stream fails the turn with the runtime's apology; `/ready` shows each dependency's health. Over HTTP through the
// real app, on either store. The deadlines are made small; the assertions are on what happens, not on how long.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder } from "../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { startHungServer, type HungServer } from "../support/hung-server.ts";
import { startMeilisearchStandIn } from "../support/meilisearch-stand-in.ts";
import { until } from "../support/until.ts";

const APOLOGY = "I'm sorry, something went wrong on my side. Could you say that again?";

/** A published agent and a chat session with it; `say` sends one message and answers the reply's text. */
async function chatWith(app: TestApp) {
  const { key } = await app.newOrg();
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Clinic", greeting: "Hello, how can I help?" });
  await b.publish(agent.id);
  const created = await app.api("POST", "/api/v1/chat/sessions", { key, body: { agentId: agent.id } });
  expect(created.status).toBe(201);
  const sessionId = created.body.data.id;
  return {
    b,
    agent,
    async say(content: string) {
      const sent = await app.api("POST", `/api/v1/chat/sessions/${sessionId}/messages`, { key, body: { content } });
      expect(sent.status).toBe(200);
      return sent.body.data.messages.map((m: { content: string }) => m.content).join(" ");
    },
  };
}

describe("a Meilisearch that accepts the connection and never answers", () => {
  let hung: HungServer;
  let app: TestApp;

  beforeAll(async () => {
    hung = await startHungServer();
    app = await startTestApp({ MEILI_URL: hung.url, MEILI_MASTER_KEY: "key", KNOWLEDGE_SEARCH_TIMEOUT_MS: "200", MEILI_TIMEOUT_MS: "500" });
  });
  afterAll(async () => {
    await app?.stop();
    await hung?.stop();
  });

  it("costs the turn its knowledge, not its answer: the question is answered, and the receipt says why without knowledge", async () => {
    const chat = await chatWith(app);
    const before = hung.connections;
    const reply = await chat.say("What are your opening hours?");
    expect(reply).not.toBe(APOLOGY);
    expect(reply).toContain("I don't know");
    expect(hung.connections).toBeGreaterThan(before);
    // The conversation goes on.
    expect(await chat.say("Do you take walk-ins?")).toContain("I don't know");

    const run = await chat.b.simulate(chat.agent.id, { transcript: ["Where do I park?"] });
    expect(run.status).toBe(200);
    expect(run.events.find((e) => e.eventType === "error")?.payload).toMatchObject({ code: "knowledge_search_timeout" });
    expect(run.events.some((e) => e.eventType === "kb_retrieval")).toBe(false);
    expect(run.said.at(-1)).toContain("I don't know");
    // Knowledge that could not be asked is no knowledge gap.
    expect((await chat.b.call("GET", `/api/v1/agents/${chat.agent.id}/knowledge-gaps`)).gaps).toEqual([]);
  });

  it("shows Meilisearch down in /ready, which stays 200 while storage answers", async () => {
    const ready = await until(async () => {
      const res = await app.api("GET", "/ready", { key: null });
      return res.body.dependencies?.meilisearch === "down" && res;
    });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: "ready", dependencies: { meilisearch: "down", llm: "not_configured", embeddings: "not_configured", speech: "not_configured" } });
  });
});

describe("an LLM server that accepts the connection and never answers", () => {
  let hung: HungServer;
  let app: TestApp;

  beforeAll(async () => {
    hung = await startHungServer();
    app = await startTestApp({ LLM_BASE_URL: `${hung.url}/v1`, LLM_MODEL: "stuck", LLM_TIMEOUT_MS: "300" });
  });
  afterAll(async () => {
    await app?.stop();
    await hung?.stop();
  });

  it("fails the turn within its deadline with the runtime's apology, and the next turn is answered the same way", async () => {
    const chat = await chatWith(app);
    expect(await chat.say("Hello there")).toBe(APOLOGY);
    expect(await chat.say("Are you still there?")).toBe(APOLOGY);
    const run = await chat.b.simulate(chat.agent.id, { transcript: ["Hi"] });
    expect(run.events.find((e) => e.eventType === "error")?.payload).toMatchObject({ code: "turn_failed", message: "LLM server was silent for 300 ms" });
    expect(run.said.at(-1)).toBe(APOLOGY);
  });

  it("shows the LLM server down in /ready", async () => {
    const ready = await until(async () => {
      const res = await app.api("GET", "/ready", { key: null });
      return res.body.dependencies?.llm === "down" && res;
    });
    expect(ready.status).toBe(200);
    expect(ready.body.dependencies.meilisearch).toBe("not_configured");
  });
});

describe("an LLM server that stalls or fails mid-stream (OpenAI streaming format)", () => {
  let llm: ReturnType<typeof Bun.serve>;
  let app: TestApp;
  const chunk = (delta: Record<string, unknown>) => `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;

  beforeAll(async () => {
    // The user's message picks the failure: an error data frame (as OpenAI and vLLM send), an `event: error`, or a
    // first token and then silence with the connection held open.
    llm = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const url = new URL(req.url);
        if (url.pathname.endsWith("/models")) return Response.json({ object: "list", data: [{ id: "m", object: "model" }] });
        const body = (await req.json()) as { messages: { role: string; content: string }[] };
        const said = body.messages.findLast((m) => m.role === "user")?.content ?? "";
        const stream = new ReadableStream<string>({
          start(controller) {
            controller.enqueue(chunk({ role: "assistant", content: "" }));
            controller.enqueue(chunk({ content: "Let me" }));
            if (said.includes("frame")) {
              controller.enqueue(`data: ${JSON.stringify({ error: { message: "the model crashed", type: "server_error", code: null } })}\n\n`);
              controller.close();
            } else if (said.includes("event")) {
              controller.enqueue(`event: error\ndata: ${JSON.stringify({ message: "out of memory" })}\n\n`);
              controller.close();
            }
          },
        });
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      },
    });
    app = await startTestApp({ LLM_BASE_URL: `http://127.0.0.1:${llm.port}/v1`, LLM_MODEL: "m", LLM_TIMEOUT_MS: "300" });
  });
  afterAll(async () => {
    await app?.stop();
    llm?.stop(true);
  });

  it("surfaces an error frame in the stream as the turn's failure, with the server's message in the receipt", async () => {
    const { key } = await app.newOrg();
    const b = agentBuilder(app, key);
    const agent = await b.agent({ name: "Clinic" });
    for (const [said, message] of [
      ["error frame please", "LLM server sent an error in the stream: the model crashed"],
      ["error event please", 'LLM server sent an error in the stream: {"message":"out of memory"}'],
      ["stall after a word", "LLM server was silent for 300 ms"],
    ]) {
      const run = await b.simulate(agent.id, { transcript: [said] });
      expect(run.status).toBe(200);
      expect(run.events.find((e) => e.eventType === "error")?.payload).toMatchObject({ code: "turn_failed", message });
      expect(run.said.at(-1)).toBe(APOLOGY);
    }
  });

  it("shows the LLM server up in /ready", async () => {
    const res = await until(async () => {
      const r = await app.api("GET", "/ready", { key: null });
      return r.body.dependencies?.llm === "up" && r;
    });
    expect(res.status).toBe(200);
  });
});

describe("embeddings and speech servers that accept the connection and never answer", () => {
  let hung: HungServer;
  let app: TestApp;

  beforeAll(async () => {
    hung = await startHungServer();
    app = await startTestApp({
      EMBEDDINGS_BASE_URL: `${hung.url}/v1`,
      EMBEDDINGS_MODEL: "stuck",
      EMBEDDINGS_TIMEOUT_MS: "300",
      SPEECH_BASE_URL: `${hung.url}/v1`,
      SPEECH_TIMEOUT_MS: "300",
      KNOWLEDGE_SEARCH_TIMEOUT_MS: "200",
    });
  });
  afterAll(async () => {
    await app?.stop();
    await hung?.stop();
  });

  it("answers a question without knowledge when the question cannot be embedded in time", async () => {
    const chat = await chatWith(app);
    const reply = await chat.say("What are your opening hours?");
    expect(reply).not.toBe(APOLOGY);
    expect(reply).toContain("I don't know");
  });

  it("shows both down in /ready", async () => {
    const ready = await until(async () => {
      const res = await app.api("GET", "/ready", { key: null });
      return res.body.dependencies?.embeddings === "down" && res;
    });
    expect(ready.status).toBe(200);
    expect(ready.body.dependencies).toEqual({ meilisearch: "not_configured", llm: "not_configured", embeddings: "down", speech: "down" });
  });
});

describe("/ready with a working Meilisearch", () => {
  it("shows it up", async () => {
    const meili = startMeilisearchStandIn();
    const app = await startTestApp({ MEILI_URL: meili.url, MEILI_MASTER_KEY: meili.masterKey });
    try {
      const res = await app.api("GET", "/ready", { key: null });
      expect(res.status).toBe(200);
      expect(res.body.dependencies).toEqual({ meilisearch: "up", llm: "not_configured", embeddings: "not_configured", speech: "not_configured" });
    } finally {
      await app.stop();
      meili.stop();
    }
  });
});
