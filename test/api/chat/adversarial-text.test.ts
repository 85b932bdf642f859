// Issue 11 item 3: no caller text can stall the server through the server's own patterns (extractors, PII redaction,
// the built-in brain, summaries). Texts of the longest allowed size that make a backtracking pattern retry from
// every character, sent with redactPii on, while /health is polled: every /health answers before the reply does.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder, oneSlotGraph } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

const LONGEST_COMPLETION = 16_000;
const LONGEST_CHAT = 4000;

/** Runs that almost match an e-mail, an "at"/"dot" spelling, a card or phone number, a request for a person, an id. */
const ADVERSARIAL: Record<string, (n: number) => string> = {
  dots: (n) => `${".".repeat(n - 4)}-.AA`,
  "x@": (n) => "x@".repeat(n / 2),
  "a.a.": (n) => `a@${"a.".repeat(n / 2 - 1)}`,
  "spaces then at": (n) => `${"\t".repeat(n - 9)}\tA\tAT\t`,
  "spaced digits": (n) => "1 ".repeat(n / 2),
  "get me": (n) => "get me ".repeat(Math.floor(n / 7)),
  "letters and dashes": (n) => "A--".repeat(Math.floor(n / 3)),
  "stops then x": (n) => `${"!".repeat(n - 2)}x!`,
};

let app: TestApp;
let key: string;
let agentId: string;

beforeAll(async () => {
  app = await startTestApp();
  ({ key } = await app.newOrg());
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Careful desk", greeting: "Hi! How can I help?" });
  await b.playbook(
    agent.id,
    { name: "Contact", description: "leave my email address for a callback" },
    oneSlotGraph({ variable: "email", prompt: "What is your email address?", slotType: "email" }, "We'll write to {email}."),
  );
  await b.guardrails(agent.id, [{ policyType: "content_policy", config: { redactPii: true } }]);
  await b.publish(agent.id);
  agentId = agent.id;
});
afterAll(() => app.stop());

/** The response to `request`, and the /health statuses seen while it was pending (each answered before it). */
async function whilePolling(request: Promise<Response>): Promise<{ status: number; health: number[] }> {
  let done = false;
  const pending = request.finally(() => (done = true));
  const health: number[] = [];
  do health.push((await fetch(`${app.url}/health`)).status);
  while (!done);
  return { status: (await pending).status, health };
}

const post = (path: string, body: unknown) =>
  fetch(`${app.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) });

describe("adversarial caller text with redactPii on", () => {
  it("answers a completion of 16,000 adversarial characters of each kind while /health keeps answering", async () => {
    for (const [name, make] of Object.entries(ADVERSARIAL)) {
      const content = make(LONGEST_COMPLETION);
      expect(content.length).toBeLessThanOrEqual(LONGEST_COMPLETION);
      const messages = [
        { role: "user", content: "I'd like to leave my email address for a callback" },
        { role: "assistant", content: "What is your email address?" },
        { role: "user", content },
      ];
      const { status, health } = await whilePolling(post("/api/v1/chat/completions", { model: agentId, messages }));
      expect([name, status]).toEqual([name, 200]);
      expect(health.length).toBeGreaterThan(0);
      expect([name, health.filter((s) => s !== 200)]).toEqual([name, []]);
    }
  });

  it("answers a chat session's email step given 4,000 adversarial characters of each kind, and still reads a spoken address", async () => {
    const atEmailStep = async () => {
      const session = (await (await post("/api/v1/chat/sessions", { agentId })).json()).data;
      const say = (content: string) => post(`/api/v1/chat/sessions/${session.id}/messages`, { content });
      expect((await say("I'd like to leave my email address for a callback")).status).toBe(200);
      return say;
    };
    for (const [name, make] of Object.entries(ADVERSARIAL)) {
      const say = await atEmailStep();
      const { status, health } = await whilePolling(say(make(LONGEST_CHAT)));
      expect([name, status]).toEqual([name, 200]);
      expect([name, health.filter((s) => s !== 200)]).toEqual([name, []]);
    }
    const say = await atEmailStep();
    const reply = await (await say("it is ann at example dot com")).json();
    expect(reply.data.messages.map((m: { content: string }) => m.content)).toEqual(["We'll write to ann@example.com."]);
  });
});
