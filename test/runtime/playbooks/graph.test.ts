import { describe, expect, it } from "bun:test";
import type { PlaybookConnection, PlaybookNode } from "../../../src/runtime/compiled.ts";
import { exitHandle, exitsOf, nextNodeId, validateGraph } from "../../../src/runtime/playbooks/graph.ts";
import { placeholders, playbookVariables, skillVariables } from "../../../src/runtime/playbooks/variables.ts";

const node = (id: string, type: string, data: Record<string, unknown> = {}): PlaybookNode => ({ id, type, position: { x: 0, y: 0 }, data });
let counter = 0;
const link = (source: string, target: string, sourceHandle?: string): PlaybookConnection => ({ id: `c${++counter}`, source, target, sourceHandle: sourceHandle ?? null });
const context = { skillIds: new Set(["skl_lookup"]), inputVariables: ["account_id"] };

/**
 * start → collect name → confirm "{name}?" —yes→ skill lookup —success→ message "{order_status}" → end
 *                          ↑_______no_______|              —error→ transfer
 */
function orderGraph() {
  const nodes = [
    node("start", "start"),
    node("ask", "collect", { variable: "name", prompt: "What name is the order under?", slotType: "name" }),
    node("check", "confirm", { prompt: "Did you say {name}?" }),
    node("lookup", "skill", { skillId: "skl_lookup", inputs: { customer: "{name}", account: "{account_id}" }, outputs: { order_status: "order.status" } }),
    node("say", "message", { text: "Your order is {order_status}, {caller_name}." }),
    node("done", "end", { outcome: "completed" }),
    node("human", "transfer", { destination: "+14155550100", message: "Let me get someone for you." }),
  ];
  const connections = [
    link("start", "ask"),
    link("ask", "check"),
    link("check", "lookup", "yes"),
    link("check", "ask", "no"),
    link("lookup", "say", "success"),
    link("lookup", "human", "error"),
    link("say", "done"),
  ];
  return { nodes, connections };
}

const fieldsOf = (graph: { nodes: PlaybookNode[]; connections: PlaybookConnection[] }, ctx = context) => validateGraph(graph, ctx).map((e) => e.field);

describe("a well-formed graph", () => {
  it("passes every check", () => {
    expect(validateGraph(orderGraph(), context)).toEqual([]);
  });

  it("treats a skill connection without a handle as its success exit", () => {
    const g = orderGraph();
    g.connections[4]!.sourceHandle = null;
    expect(validateGraph(g, context)).toEqual([]);
    expect(exitHandle(g.nodes[3]!, g.connections[4]!)).toBe("success");
    expect(exitHandle(g.nodes[3]!, g.connections[5]!)).toBe("error");
    expect(exitHandle(g.nodes[1]!, g.connections[1]!)).toBeNull();
    expect(nextNodeId(g, g.nodes[3]!, "success")).toBe("say");
    expect(nextNodeId(g, g.nodes[3]!, "error")).toBe("human");
    expect(nextNodeId(g, g.nodes[5]!, null)).toBeNull();
  });

  it("lists each node type's exits", () => {
    const branch = node("b", "branch", { conditions: [{ handle: "vip", variable: "x", operator: "exists" }, { handle: "vip", variable: "y", operator: "eq", value: 1 }] });
    expect(exitsOf(branch)).toEqual([
      { handle: "vip", required: true },
      { handle: "else", required: false },
    ]);
    expect(exitsOf(node("e", "end"))).toEqual([]);
  });
});

describe("node checks", () => {
  it("refuses an unknown node type", () => {
    const g = orderGraph();
    g.nodes[4]!.type = "speak";
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[4].type", message: expect.stringContaining("must be one of start, collect") }]);
  });

  it("checks node data against the schema of its type", () => {
    const g = orderGraph();
    g.nodes[1]!.data = { variable: "name", slotType: "shoe size", dtmf: { enabled: true, expectedDigits: 40 }, maxRetries: 9 };
    const errors = validateGraph(g, context);
    expect(errors.map((e) => e.field).sort()).toEqual(["nodes[1].data.dtmf.expectedDigits", "nodes[1].data.maxRetries", "nodes[1].data.prompt", "nodes[1].data.slotType"]);
    expect(errors.find((e) => e.field === "nodes[1].data.prompt")!.message).toBe("is required");
    expect(errors.find((e) => e.field === "nodes[1].data.slotType")!.message).toContain("must be one of text, name");
  });

  it("requires options for a choice slot", () => {
    const g = orderGraph();
    g.nodes[1]!.data = { variable: "name", prompt: "Pick one", slotType: "choice" };
    expect(fieldsOf(g)).toEqual(["nodes[1].data.options"]);
  });

  it("refuses a collect into a reserved variable", () => {
    const g = orderGraph();
    g.nodes[1]!.data = { variable: "verified", prompt: "Are you verified?", slotType: "yes_no" };
    expect(fieldsOf(g)).toContain("nodes[1].data.variable");
  });

  it("refuses a transfer destination that is not E.164", () => {
    const g = orderGraph();
    g.nodes[6]!.data = { destination: "555-0100" };
    expect(fieldsOf(g)).toEqual(["nodes[6].data.destination"]);
  });

  it("requires a value for comparisons and a list for in", () => {
    const g = orderGraph();
    g.nodes[4] = node("say", "branch", {
      conditions: [
        { handle: "a", variable: "name", operator: "eq" },
        { handle: "b", variable: "name", operator: "in", value: "x" },
        { handle: "else", variable: "name", operator: "exists" },
      ],
    });
    g.connections[6]!.sourceHandle = "a";
    expect(fieldsOf(g)).toEqual(["nodes[4].data.conditions[0].value", "nodes[4].data.conditions[1].value", "nodes[4].data.conditions[2].handle"]);
  });

  it("refuses a duplicate node id", () => {
    const g = orderGraph();
    g.nodes[6]!.id = "done";
    expect(fieldsOf(g)).toContain("nodes[6].id");
  });

  it("refuses a skill the agent does not have", () => {
    const g = orderGraph();
    g.nodes[3]!.data = { ...g.nodes[3]!.data, skillId: "skl_other" };
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[3].data.skillId", message: "skl_other is not a skill of this agent" }]);
  });

  it("refuses skill outputs that are not variable names", () => {
    const g = orderGraph();
    g.nodes[3]!.data = { ...g.nodes[3]!.data, outputs: { "order-status": "order.status" } };
    expect(fieldsOf(g)).toEqual(["nodes[3].data.outputs.order-status"]);
  });
});

describe("connection checks", () => {
  it("refuses a duplicate connection id", () => {
    const g = orderGraph();
    g.connections[6]!.id = g.connections[0]!.id;
    expect(fieldsOf(g)).toEqual(["connections[6].id"]);
  });

  it("refuses connections to or from nodes that do not exist", () => {
    const g = orderGraph();
    g.connections[6]!.target = "nowhere";
    g.connections[1]!.source = "ghost";
    expect(fieldsOf(g)).toEqual(["connections[1].source", "connections[6].target"]);
  });

  it("refuses a handle the source node does not have", () => {
    const g = orderGraph();
    g.connections[3]!.sourceHandle = "maybe";
    expect(validateGraph(g, context)).toEqual([{ field: "connections[3].sourceHandle", message: "must be one of yes, no for a confirm node" }]);
  });

  it("refuses a named handle on a node with one unnamed exit", () => {
    const g = orderGraph();
    g.connections[0]!.sourceHandle = "next";
    expect(fieldsOf(g)).toEqual(["connections[0].sourceHandle"]);
  });

  it("refuses connections out of a terminal node", () => {
    const g = orderGraph();
    g.connections.push(link("done", "start"));
    expect(fieldsOf(g)).toEqual(["connections[7].source"]);
  });

  it("refuses two connections leaving by the same exit", () => {
    const g = orderGraph();
    g.connections.push(link("say", "human"));
    expect(fieldsOf(g)).toEqual(["connections[7].sourceHandle"]);
  });
});

describe("structure", () => {
  it("needs a start node", () => {
    const g = orderGraph();
    g.nodes[0]!.type = "message";
    g.nodes[0]!.data = { text: "Hi" };
    expect(fieldsOf(g)).toEqual(["nodes"]);
  });

  it("allows only one start node", () => {
    const g = orderGraph();
    g.nodes.push(node("start2", "start"));
    expect(fieldsOf(g)).toEqual(["nodes[7].type"]);
  });

  it("refuses nodes that cannot be reached from start", () => {
    const g = orderGraph();
    g.nodes.push(node("orphan", "message", { text: "Never said" }), node("orphan_end", "end"));
    g.connections.push(link("orphan", "orphan_end"));
    expect(fieldsOf(g)).toEqual(["nodes[7]", "nodes[8]"]);
  });

  it("refuses a non-terminal node with no way out", () => {
    const g = {
      nodes: [node("start", "start"), node("route", "branch", { conditions: [{ handle: "known", variable: "caller_info", operator: "exists" }] }), node("hi", "message", { text: "Welcome back" }), node("end", "end")],
      connections: [link("start", "route"), link("route", "hi", "known"), link("route", "end", "else")],
    };
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[2]", message: expect.stringContaining("has no way out") }]);
  });

  it("needs both exits of a confirm node", () => {
    const g = orderGraph();
    g.connections.splice(3, 1);
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[2]", message: "needs a connection from its no exit" }]);
  });

  it("needs a connection for every branch condition handle, but not for else", () => {
    const g = orderGraph();
    g.nodes[4] = node("say", "branch", {
      conditions: [
        { handle: "shipped", variable: "order_status", operator: "eq", value: "shipped" },
        { handle: "late", variable: "order_status", operator: "eq", value: "late" },
      ],
    });
    g.connections[6]!.sourceHandle = "shipped";
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[4].data.conditions[1].handle", message: "no connection leaves by late" }]);
    g.connections.push(link("say", "human", "late"));
    expect(validateGraph(g, context)).toEqual([]);
  });

  it("needs the success exit of a skill node", () => {
    const g = orderGraph();
    g.connections.splice(4, 1);
    g.nodes.splice(4, 1);
    g.connections.splice(g.connections.findIndex((c) => c.source === "say"), 1);
    expect(validateGraph(g, context)).toEqual([
      { field: "nodes[4]", message: "is not reachable from the start node" },
      { field: "nodes[3]", message: "needs a connection from its success exit" },
    ]);
  });

  it("refuses a loop with no way out, naming its first node", () => {
    const g = {
      nodes: [node("start", "start"), node("a", "message", { text: "A" }), node("b", "confirm", { prompt: "Again?" }), node("c", "message", { text: "C" })],
      connections: [link("start", "a"), link("a", "b"), link("b", "c", "yes"), link("b", "a", "no"), link("c", "a")],
    };
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[1]", message: expect.stringContaining("loop with no way out (a, b, c)") }]);
  });

  it("accepts a loop that can be left", () => {
    const g = orderGraph(); // ask ⇄ check, left by the yes exit
    expect(validateGraph(g, context)).toEqual([]);
  });
});

describe("variables used before they are gathered", () => {
  it("accepts inputs, reserved variables, collected slots and skill outputs", () => {
    expect(validateGraph(orderGraph(), context)).toEqual([]);
  });

  it("refuses a placeholder that no path has gathered", () => {
    const g = orderGraph();
    g.nodes[4]!.data = { text: "Your order is {order_status}, {nickname}." };
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[4].data.text", message: "uses nickname before it is gathered on every path from start" }]);
  });

  it("refuses a variable gathered on only some paths", () => {
    const g = {
      nodes: [
        node("start", "start"),
        node("route", "branch", { conditions: [{ handle: "known", variable: "caller_info", operator: "exists" }] }),
        node("ask", "collect", { variable: "zip", prompt: "Your ZIP code?", slotType: "digits", dtmf: { enabled: true, expectedDigits: 5 } }),
        node("confirm", "confirm", { prompt: "Deliver to {zip}?" }),
        node("end", "end"),
      ],
      connections: [link("start", "route"), link("route", "ask", "known"), link("route", "confirm", "else"), link("ask", "confirm"), link("confirm", "end", "yes"), link("confirm", "end", "no")],
    };
    expect(fieldsOf(g)).toEqual(["nodes[3].data.prompt"]);
    expect(fieldsOf(g, { ...context, inputVariables: ["zip"] })).toEqual([]);
  });

  it("does not count a skill's outputs on its error exit", () => {
    const g = orderGraph();
    g.nodes[6]!.data = { message: "I could not find {order_status}." };
    expect(fieldsOf(g)).toEqual(["nodes[6].data.message"]);
  });

  it("checks branch condition variables", () => {
    const g = orderGraph();
    g.nodes[4] = node("say", "branch", { conditions: [{ handle: "rush", variable: "priority", operator: "eq", value: "high" }] });
    g.connections[6]!.sourceHandle = "rush";
    expect(fieldsOf(g)).toEqual(["nodes[4].data.conditions[0].variable"]);
  });

  it("lets exists test a variable set on some path, but not one never set", () => {
    const g = orderGraph();
    g.nodes[4] = node("say", "branch", { conditions: [{ handle: "found", variable: "order_status", operator: "exists" }, { handle: "typo", variable: "order_stauts", operator: "not_exists" }] });
    g.connections[6]!.sourceHandle = "found";
    g.connections.push(link("say", "human", "typo"));
    expect(validateGraph(g, context)).toEqual([{ field: "nodes[4].data.conditions[1].variable", message: "order_stauts is never set in this playbook" }]);
  });

  it("checks skill inputs", () => {
    const g = orderGraph();
    g.nodes[3]!.data = { ...g.nodes[3]!.data, inputs: { customer: "{name}", postcode: "{postcode}", channel: "voice" } };
    expect(fieldsOf(g)).toEqual(["nodes[3].data.inputs.postcode"]);
  });

  it("checks a collect's own prompts against what came before it", () => {
    const g = orderGraph();
    g.nodes[1]!.data = { variable: "name", prompt: "Hi {caller_name}, what is the name?", retryPrompt: "Sorry {name}?", slotType: "name" };
    expect(fieldsOf(g)).toEqual(["nodes[1].data.retryPrompt"]);
  });
});

describe("variables a playbook or skill produces and consumes", () => {
  it("reads placeholders, ignoring JSON and keeping the variable of a dotted path", () => {
    expect(placeholders('Hi {name}, {order.status} {"a":1} {name} { x }')).toEqual(["name", "order"]);
  });

  it("derives a playbook's variables from its nodes", () => {
    expect(playbookVariables(orderGraph())).toEqual({ produced: ["name", "order_status"], consumed: ["name", "account_id", "order_status", "caller_name"] });
  });

  it("derives a skill's variables from its response mapping and templated settings, leaving out its own parameters", () => {
    const flow = skillVariables({
      parametersSchema: { type: "object", properties: { order_id: { type: "string" } } },
      executionConfig: {
        url: "https://example.test/orders/{order_id}?account={account_id}",
        headers: { "x-caller": "{caller_number}" },
        body: { note: "{summary}", nested: ["{tier}"] },
        timeout_ms: 4000,
        sql_template: "select {ignored}",
        response_mapping: { order_status: "status", "not a name": "x" },
      },
    });
    expect(flow).toEqual({ produced: ["order_status"], consumed: ["account_id", "caller_number", "summary", "tier"] });
  });
});
