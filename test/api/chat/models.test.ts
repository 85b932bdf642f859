// GET /models through the official `openai` SDK: the organization's live agents, and nothing else.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import OpenAI from "openai";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

describe("OpenAI-compatible models", () => {
  let app: TestApp;
  let client: OpenAI;
  let key: string;
  let organizationId: string;
  const ids: Record<string, string> = {};
  const createdAt: Record<string, string> = {};
  beforeAll(async () => {
    app = await startTestApp();
    ({ key, organizationId } = await app.newOrg());
    const b = agentBuilder(app, key);
    for (const name of ["Front desk", "Billing desk", "Paused desk", "Draft desk", "Deleted desk"]) {
      const agent = await b.agent({ name });
      ids[name] = agent.id;
      createdAt[agent.id] = agent.createdAt;
    }
    for (const name of ["Front desk", "Billing desk", "Paused desk", "Deleted desk"]) await b.publish(ids[name]!);
    await b.call("PATCH", `/api/v1/agents/${ids["Paused desk"]}`, { isActive: false });
    await b.call("DELETE", `/api/v1/agents/${ids["Deleted desk"]}`);
    // Another organization's live agent is never listed.
    const other = await app.newOrg("Other org");
    await agentBuilder(app, other.key).publish((await agentBuilder(app, other.key).agent({ name: "Theirs" })).id);
    client = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => app.stop());

  it("lists the published, active agents as models that /chat/completions accepts", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toEqual([ids["Front desk"]!, ids["Billing desk"]!]);
    for (const model of models) {
      expect(model).toEqual({ id: model.id, object: "model", created: Math.floor(Date.parse(createdAt[model.id]!) / 1000), owned_by: organizationId });
    }
    const completion = await client.chat.completions.create({ model: models[0]!.id, messages: [{ role: "user", content: "hello" }] });
    expect(completion.choices[0]!.message.content).toBeTruthy();
  });

  it("retrieves one model, and answers 404 model_not_found in OpenAI's shape for any other id", async () => {
    expect(await client.models.retrieve(ids["Billing desk"]!)).toMatchObject({ id: ids["Billing desk"], object: "model", owned_by: organizationId });
    for (const id of [ids["Paused desk"]!, ids["Draft desk"]!, ids["Deleted desk"]!, "agt_nope"]) {
      const error = await client.models.retrieve(id).catch((e) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error.code).toBe("model_not_found");
      expect(error.param).toBe("model");
      expect(error.message).toContain(id);
    }
  });

  it("needs the chat:write scope, as /chat/completions does", async () => {
    const readOnly = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: await app.keyWith(organizationId, ["agents:read"]), maxRetries: 0 });
    expect(await readOnly.models.list().catch((e) => e)).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const chatKey = new OpenAI({ baseURL: `${app.url}/api/v1`, apiKey: await app.keyWith(organizationId, ["chat:write"]), maxRetries: 0 });
    expect((await chatKey.models.list()).data).toHaveLength(2);
  });
});
