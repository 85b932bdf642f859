// Referential integrity between skills and playbooks over the API: nothing is deleted while something else in the
// agent's draft still points at it, so a draft never calls a skill or starts a playbook that is gone.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { agentBuilder } from "../../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../../support/app.ts";

let app: TestApp;
let key: string;
let b: ReturnType<typeof agentBuilder>;

beforeAll(async () => {
  app = await startTestApp();
  key = (await app.newOrg()).key;
  b = agentBuilder(app, key);
});
afterAll(() => app?.stop());

const lookup = { name: "lookup_order", description: "Look up an order", skillType: "http_webhook", executionConfig: { url: "https://orders.example.com/lookup" } };

function callingGraph(skillId: string) {
  return {
    nodes: [
      { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
      { id: "k", type: "skill", position: { x: 0, y: 1 }, data: { skillId } },
      { id: "e", type: "end", position: { x: 0, y: 2 }, data: { outcome: "completed" } },
    ],
    connections: [
      { id: "1", source: "s", target: "k" },
      { id: "2", source: "k", target: "e", sourceHandle: "success" },
      { id: "3", source: "k", target: "e", sourceHandle: "error" },
    ],
  };
}

const del = (path: string) => app.api("DELETE", path, { key });

describe("deleting what the draft still uses", () => {
  it("refuses to delete a skill a playbook step calls, until the step is gone", async () => {
    const agent = await b.agent({ name: "Orders" });
    const skill = await b.skill(agent.id, lookup);
    const playbook = await b.playbook(agent.id, { name: "Order status", description: "Tell a caller where their order is" }, callingGraph(skill.id));

    const refused = await del(`/api/v1/agents/${agent.id}/skills/${skill.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "skill_in_use", detail: 'playbook "Order status" uses this skill: change it first' });
    expect((await app.api("GET", `/api/v1/agents/${agent.id}/skills/${skill.id}`, { key })).status).toBe(200);

    await del(`/api/v1/agents/${agent.id}/playbooks/${playbook.id}`);
    expect((await del(`/api/v1/agents/${agent.id}/skills/${skill.id}`)).status).toBe(200);
  });

  it("refuses to delete a skill that checks callers' identities for a verification config", async () => {
    const agent = await b.agent({ name: "Accounts" });
    const verifier = await b.skill(agent.id, { ...lookup, name: "check_identity", description: "Check a caller's identity" });
    await b.verification(agent.id, [{ method: "dob_postcode", verifierSkillId: verifier.id }]);
    const refused = await del(`/api/v1/agents/${agent.id}/skills/${verifier.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "skill_in_use", detail: "the dob_postcode caller verification uses this skill: change it first" });
    await b.verification(agent.id, []);
    expect((await del(`/api/v1/agents/${agent.id}/skills/${verifier.id}`)).status).toBe(200);
  });

  it("refuses to delete a playbook a playbook skill starts, naming the skill", async () => {
    const agent = await b.agent({ name: "Bookings" });
    const playbook = await b.playbook(agent.id, { name: "Book a visit", description: "Book a repair visit" }, {
      nodes: [
        { id: "s", type: "start", position: { x: 0, y: 0 }, data: {} },
        { id: "e", type: "end", position: { x: 0, y: 1 }, data: { outcome: "completed" } },
      ],
      connections: [{ id: "1", source: "s", target: "e" }],
    });
    const starter = await b.skill(agent.id, { name: "book_visit", description: "Book a repair visit", skillType: "playbook", executionConfig: { playbookId: playbook.id } });

    const refused = await del(`/api/v1/agents/${agent.id}/playbooks/${playbook.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: "playbook_in_use", detail: 'skill "book_visit" starts this playbook: delete or repoint it first' });

    await del(`/api/v1/agents/${agent.id}/skills/${starter.id}`);
    expect((await del(`/api/v1/agents/${agent.id}/playbooks/${playbook.id}`)).status).toBe(200);
  });

  it("still answers 404 for a skill or playbook that does not exist", async () => {
    const agent = await b.agent({ name: "Empty" });
    expect((await del(`/api/v1/agents/${agent.id}/skills/skl_missing`)).body.code).toBe("skill_not_found");
    expect((await del(`/api/v1/agents/${agent.id}/playbooks/pbk_missing`)).body.code).toBe("playbook_not_found");
  });
});
