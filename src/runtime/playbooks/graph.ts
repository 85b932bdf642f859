// Playbook graphs: the node-type catalog (each node's `data` schema and exits) and `validateGraph`, the checks a
// graph passes before it is saved. The interpreter walks graphs that passed these checks, so it can rely on them:
// one start, every node reachable, every non-terminal node has its exits connected, no closed loops, and every
// variable a node reads is set on every path that reaches it. Pure: no storage, no HTTP.
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { fieldErrors } from "../../platform/http/errors.ts";
import type { FieldError } from "../../platform/http/problem.ts";
import { RESERVED_VARIABLES, type PlaybookConnection, type PlaybookNode } from "../compiled.ts";
import { patternProblem, type PatternAt } from "../patterns/index.ts";
import { isVariableName, nodeProduces, nodeUses, VARIABLE_NAME } from "./variables.ts";

const oneOf = <const T extends readonly string[]>(values: T, description?: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description ? { description } : {},
  ) as unknown as TUnion<TLiteral<T[number]>[]>;

const VariableName = Type.String({ pattern: VARIABLE_NAME, maxLength: 64, description: "letters, digits and _, not starting with a digit" });
const Spoken = (description: string) => Type.String({ minLength: 1, maxLength: 2000, description });

export const SLOT_TYPES = ["text", "name", "phone", "email", "date", "time", "datetime", "number", "integer", "yes_no", "address", "digits", "choice"] as const;
export const CONDITION_OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists", "not_exists", "in"] as const;
/** Operators that only ask whether a variable is set, so they need no `value`. */
export const PRESENCE_OPERATORS: ReadonlySet<string> = new Set(["exists", "not_exists"]);

export const StartData = Type.Object({}, { description: "Where the playbook begins. Exactly one per graph; one exit." });

export const CollectData = Type.Object(
  {
    variable: VariableName,
    prompt: Spoken("What to ask; may use {var} placeholders"),
    slotType: oneOf(SLOT_TYPES, "What kind of value to extract"),
    options: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 50, description: "The allowed answers; required for choice" })),
    validation: Type.Optional(
      Type.Object({
        pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: "Regular expression (JavaScript syntax, no flags) the value must match somewhere; runs in a linear-time engine: no backreferences or lookaround, and no catastrophic backtracking" })),
        min: Type.Optional(Type.Number({ description: "Smallest number (number, integer)" })),
        max: Type.Optional(Type.Number({ description: "Largest number (number, integer)" })),
        minLength: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
        maxLength: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
      }),
    ),
    retryPrompt: Type.Optional(Spoken("Asked again after an answer that does not fit; may use {var} placeholders")),
    maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5, default: 2, description: "Re-asks before giving up" })),
    dtmf: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean({ description: "Accept keypad digits as well as speech" }),
          expectedDigits: Type.Optional(Type.Integer({ minimum: 1, maximum: 32, description: "Submit automatically after this many digits" })),
          submitKey: Type.Optional(oneOf(["#", "*"], "Key that ends variable-length entry")),
        },
        { description: "Say it or press it; off unless enabled" },
      ),
    ),
    required: Type.Optional(Type.Boolean({ default: true, description: "false lets the caller skip the question" })),
    persist: Type.Optional(
      Type.Boolean({ default: false, description: "Keep the answer for later runs: a playbook started again (this one or another asking the same variable) skips the question. Off: every run asks again" }),
    ),
  },
  { description: "Gathers one input into `variable`. One exit." },
);

export const MessageData = Type.Object({ text: Spoken("What to say; may use {var} placeholders") }, { description: "Says a line. One exit." });

export const ConfirmData = Type.Object(
  { prompt: Spoken("A yes/no question; may use {var} placeholders") },
  { description: "Asks the caller to confirm. Exits `yes` and `no`, both required." },
);

export const BranchCondition = Type.Object({
  handle: Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$", description: "The exit (sourceHandle) taken when this condition holds; not `else`" }),
  variable: VariableName,
  operator: oneOf(CONDITION_OPERATORS),
  value: Type.Optional(
    Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean(), Type.Array(Type.Union([Type.String({ maxLength: 1000 }), Type.Number()]), { maxItems: 100 })], {
      description: "Compared with the variable; required except for exists / not_exists; a list for in",
    }),
  ),
});

export const BranchData = Type.Object(
  { conditions: Type.Array(BranchCondition, { minItems: 1, maxItems: 50, description: "Tried in order; the first that holds picks the exit" }) },
  { description: "Routes on variables. One exit per condition handle (required) and an optional `else`." },
);

export const SkillData = Type.Object(
  {
    skillId: Type.String({ minLength: 1, maxLength: 64, description: "A skill of this agent" }),
    inputs: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 2000 }), { description: "Skill parameter → template: \"{var}\" or a literal" })),
    outputs: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.String({ pattern: "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$", maxLength: 500, description: "Dotted path into the result, e.g. order.status" }), {
        description: "Variable → dotted path into the skill's result",
      }),
    ),
    outputVariable: Type.Optional(VariableName),
  },
  { description: "Calls a skill. Exits `success` (or no handle) and an optional `error`." },
);

export const TransferData = Type.Object(
  {
    destination: Type.Optional(Type.String({ pattern: "^\\+[1-9]\\d{7,14}$", description: "E.164; absent = the agent's handoff rules" })),
    ruleLabel: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: "A handoffConfig transfer rule to use" })),
    warm: Type.Optional(Type.Boolean({ description: "Summarise the caller to the person before connecting" })),
    message: Type.Optional(Spoken("Said before transferring; may use {var} placeholders")),
  },
  { description: "Hands the caller to a person. Terminal." },
);

export const EndData = Type.Object(
  {
    message: Type.Optional(Spoken("Said before finishing; may use {var} placeholders")),
    outcome: Type.Optional(oneOf(["completed", "abandoned"])),
  },
  { description: "Finishes the playbook. Terminal." },
);

export const NODE_DATA = {
  start: StartData,
  collect: CollectData,
  message: MessageData,
  confirm: ConfirmData,
  branch: BranchData,
  skill: SkillData,
  transfer: TransferData,
  end: EndData,
} as const satisfies Record<string, TSchema>;

export type NodeType = keyof typeof NODE_DATA;
export type NodeData<T extends NodeType> = Static<(typeof NODE_DATA)[T]>;
export type CollectData = Static<typeof CollectData>;
export type BranchData = Static<typeof BranchData>;
export type SkillData = Static<typeof SkillData>;

export const NODE_TYPES = Object.keys(NODE_DATA) as NodeType[];
export const TERMINAL_NODE_TYPES: ReadonlySet<string> = new Set<NodeType>(["transfer", "end"]);
export const isNodeType = (type: string): type is NodeType => Object.hasOwn(NODE_DATA, type);

/** One way out of a node; `handle: null` is the unnamed exit (a connection without sourceHandle). */
export interface Exit {
  handle: string | null;
  required: boolean;
}

/** The exits of a node whose data is valid. */
export function exitsOf(node: PlaybookNode): Exit[] {
  switch (node.type) {
    case "start":
    case "collect":
    case "message":
      return [{ handle: null, required: true }];
    case "confirm":
      return [
        { handle: "yes", required: true },
        { handle: "no", required: true },
      ];
    case "branch": {
      const handles = new Set((node.data as BranchData).conditions.map((c) => c.handle));
      return [...[...handles].map((handle) => ({ handle, required: true })), { handle: "else", required: false }];
    }
    case "skill":
      return [
        { handle: "success", required: true },
        { handle: "error", required: false },
      ];
    default:
      return [];
  }
}

/** The exit a connection leaves its source by: no sourceHandle is the unnamed exit, which for a skill is `success`. */
export function exitHandle(source: PlaybookNode, connection: PlaybookConnection): string | null {
  const handle = connection.sourceHandle || null;
  return source.type === "skill" && handle === null ? "success" : handle;
}

/** The node reached by leaving `node` through `handle`, or null when that exit is not connected. */
export function nextNodeId(graph: { connections: PlaybookConnection[] }, node: PlaybookNode, handle: string | null): string | null {
  return graph.connections.find((c) => c.source === node.id && exitHandle(node, c) === handle)?.target ?? null;
}

export interface GraphContext {
  /** Ids of the agent's skills. */
  skillIds: ReadonlySet<string>;
  /** The playbook's inputSchema properties: set before the start node runs. */
  inputVariables: readonly string[];
}

type Graph = { nodes: PlaybookNode[]; connections: PlaybookConnection[] };
const RESERVED: ReadonlySet<string> = new Set(RESERVED_VARIABLES);

/** Every problem with a graph, each naming its field (`nodes[2].data.skillId`, `connections[1].target`); empty when valid. */
export function validateGraph(graph: Graph, context: GraphContext): FieldError[] {
  const { errors, sound } = checkNodes(graph, context);
  const edges = checkConnections(graph, sound, errors);
  const starts = graph.nodes.flatMap((n, i) => (n.type === "start" ? [i] : []));
  if (starts.length === 0) errors.push({ field: "nodes", message: "needs a start node" });
  for (const i of starts.slice(1)) errors.push({ field: `nodes[${i}].type`, message: "a graph has exactly one start node" });
  // Flow checks on a malformed graph would only echo the errors above; report those first.
  if (errors.length) return errors;
  return checkFlow(graph, edges, starts[0]!, context);
}

/** Node errors, and the indexes of nodes whose type and data fit their schema (their exits can be trusted). */
function checkNodes(graph: Graph, context: GraphContext): { errors: FieldError[]; sound: Set<number> } {
  const errors: FieldError[] = [];
  const sound = new Set<number>();
  const seen = new Set<string>();
  graph.nodes.forEach((node, i) => {
    const at = `nodes[${i}]`;
    if (seen.has(node.id)) errors.push({ field: `${at}.id`, message: `${node.id} is used by another node` });
    seen.add(node.id);
    if (!isNodeType(node.type)) {
      errors.push({ field: `${at}.type`, message: `must be one of ${NODE_TYPES.join(", ")}` });
      return;
    }
    const schemaErrors = fieldErrors([...Value.Errors(NODE_DATA[node.type], node.data)], "");
    if (schemaErrors.length) {
      for (const e of schemaErrors) errors.push({ field: e.field ? `${at}.data.${e.field}` : `${at}.data`, message: e.message });
      return;
    }
    sound.add(i);
    for (const e of checkData(node, context)) errors.push({ field: `${at}.data.${e.field}`, message: e.message });
  });
  return { errors, sound };
}

/** What the data schemas cannot say. Fields are relative to the node's data. */
function checkData(node: PlaybookNode, context: GraphContext): FieldError[] {
  const errors: FieldError[] = [];
  const reserved = (name: string, field: string) => {
    if (RESERVED.has(name)) errors.push({ field, message: `${name} is reserved: the runtime sets it` });
  };
  switch (node.type) {
    case "collect": {
      const data = node.data as CollectData;
      reserved(data.variable, "variable");
      if (data.slotType === "choice" && !data.options) errors.push({ field: "options", message: "is required for a choice slot" });
      const v = data.validation ?? {};
      // The backtracking analysis is slower and asynchronous: the save path adds it (see patterns/checkPatterns).
      const problem = v.pattern === undefined ? null : patternProblem(v.pattern);
      if (problem) errors.push({ field: "validation.pattern", message: problem });
      if (v.min !== undefined && v.max !== undefined && v.min > v.max) errors.push({ field: "validation.min", message: "must not exceed validation.max" });
      if (v.minLength !== undefined && v.maxLength !== undefined && v.minLength > v.maxLength) {
        errors.push({ field: "validation.minLength", message: "must not exceed validation.maxLength" });
      }
      break;
    }
    case "branch":
      (node.data as BranchData).conditions.forEach((c, k) => {
        if (c.handle === "else") errors.push({ field: `conditions[${k}].handle`, message: "else is the exit taken when no condition holds" });
        if (!PRESENCE_OPERATORS.has(c.operator) && c.value === undefined) errors.push({ field: `conditions[${k}].value`, message: `is required for ${c.operator}` });
        if (c.operator === "in" && c.value !== undefined && !Array.isArray(c.value)) errors.push({ field: `conditions[${k}].value`, message: "must be a list for in" });
      });
      break;
    case "skill": {
      const data = node.data as SkillData;
      if (!context.skillIds.has(data.skillId)) errors.push({ field: "skillId", message: `${data.skillId} is not a skill of this agent` });
      for (const name of Object.keys(data.outputs ?? {})) {
        if (!isVariableName(name)) errors.push({ field: `outputs.${name}`, message: "is not a variable name (letters, digits and _)" });
        else reserved(name, `outputs.${name}`);
      }
      if (data.outputVariable) reserved(data.outputVariable, "outputVariable");
      break;
    }
  }
  return errors;
}

interface Edge {
  source: number;
  target: number;
  handle: string | null;
}

/** Checks each connection and returns the sound ones as edges between node indexes. */
function checkConnections(graph: Graph, sound: ReadonlySet<number>, errors: FieldError[]): Edge[] {
  const indexOf = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    if (!indexOf.has(n.id)) indexOf.set(n.id, i);
  });
  const edges: Edge[] = [];
  const ids = new Set<string>();
  const taken = new Map<string, number>();
  graph.connections.forEach((c, j) => {
    const at = `connections[${j}]`;
    if (ids.has(c.id)) errors.push({ field: `${at}.id`, message: `${c.id} is used by another connection` });
    ids.add(c.id);
    const source = indexOf.get(c.source);
    const target = indexOf.get(c.target);
    if (source === undefined) errors.push({ field: `${at}.source`, message: `no node has id ${c.source}` });
    if (target === undefined) errors.push({ field: `${at}.target`, message: `no node has id ${c.target}` });
    if (source === undefined || target === undefined) return;
    if (!sound.has(source)) return; // already reported on the node
    const node = graph.nodes[source]!;
    if (TERMINAL_NODE_TYPES.has(node.type)) {
      errors.push({ field: `${at}.source`, message: `${node.id} is a ${node.type} node: it finishes the playbook and has no exits` });
      return;
    }
    const handle = exitHandle(node, c);
    const exits = exitsOf(node).map((e) => e.handle);
    if (!exits.includes(handle)) {
      const named = exits.filter((h) => h !== null);
      errors.push({
        field: `${at}.sourceHandle`,
        message: named.length ? `must be one of ${named.join(", ")} for a ${node.type} node` : `must be empty: a ${node.type} node has one unnamed exit`,
      });
      return;
    }
    const key = `${source}\u0000${handle}`;
    const earlier = taken.get(key);
    if (earlier !== undefined) {
      errors.push({ field: `${at}.sourceHandle`, message: `connections[${earlier}] already leaves ${node.id} by this exit` });
      return;
    }
    taken.set(key, j);
    edges.push({ source, target, handle });
  });
  return edges;
}

function checkFlow(graph: Graph, edges: Edge[], start: number, context: GraphContext): FieldError[] {
  const errors: FieldError[] = [];
  const out: Edge[][] = graph.nodes.map(() => []);
  for (const e of edges) out[e.source]!.push(e);

  const seen = new Set<number>([start]);
  for (const stack = [start]; stack.length; ) {
    for (const e of out[stack.pop()!]!) {
      if (seen.has(e.target)) continue;
      seen.add(e.target);
      stack.push(e.target);
    }
  }
  const reachable = new Set([...seen].sort((a, b) => a - b));
  graph.nodes.forEach((_, i) => {
    if (!reachable.has(i)) errors.push({ field: `nodes[${i}]`, message: "is not reachable from the start node" });
  });

  for (const i of reachable) {
    const node = graph.nodes[i]!;
    if (TERMINAL_NODE_TYPES.has(node.type)) continue;
    if (out[i]!.length === 0) {
      errors.push({ field: `nodes[${i}]`, message: "has no way out: connect it to the next step, or finish with an end or transfer node" });
      continue;
    }
    const connected = new Set(out[i]!.map((e) => e.handle));
    for (const exit of exitsOf(node)) {
      if (!exit.required || connected.has(exit.handle)) continue;
      if (node.type === "branch") {
        const k = (node.data as BranchData).conditions.findIndex((c) => c.handle === exit.handle);
        errors.push({ field: `nodes[${i}].data.conditions[${k}].handle`, message: `no connection leaves by ${exit.handle}` });
      } else {
        errors.push({ field: `nodes[${i}]`, message: `needs a connection from its ${exit.handle} exit` });
      }
    }
  }

  for (const loop of closedLoops(reachable, out)) {
    const names = loop.map((i) => graph.nodes[i]!.id).join(", ");
    errors.push({ field: `nodes[${loop[0]}]`, message: `is in a loop with no way out (${names}): give one of these steps an exit towards an end or transfer node` });
  }

  errors.push(...checkDataflow(graph, out, reachable, start, context));
  return errors;
}

/**
 * Loops the conversation could never leave: strongly connected components (Tarjan) with a cycle and no edge out.
 * Any other node that cannot reach a terminal node leads into one of these or into a dead end, both reported,
 * so reporting only these names the place to fix.
 */
function closedLoops(reachable: Set<number>, out: Edge[][]): number[][] {
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const loops: number[][] = [];
  let counter = 0;

  const visit = (v: number) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const { target: w } of out[v]!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: number[] = [];
    let w: number;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    const members = new Set(component);
    const cyclic = component.length > 1 || out[v]!.some((e) => e.target === v);
    const closed = component.every((m) => out[m]!.every((e) => members.has(e.target)));
    if (cyclic && closed) loops.push(component.sort((a, b) => a - b));
  };
  for (const v of reachable) if (!index.has(v)) visit(v);
  return loops;
}

/**
 * Must-be-defined analysis: a variable is available at a node only when every path from start to it sets it
 * (inputs and reserved variables are set before start). A skill's outputs exist only on its success exit.
 */
function checkDataflow(graph: Graph, out: Edge[][], reachable: Set<number>, start: number, context: GraphContext): FieldError[] {
  const base = new Set([...RESERVED, ...context.inputVariables]);
  const available: (Set<string> | null)[] = graph.nodes.map(() => null);
  available[start] = base;
  for (const work = [start]; work.length; ) {
    const i = work.pop()!;
    const node = graph.nodes[i]!;
    for (const e of out[i]!) {
      if (e.target === start) continue;
      const produced = node.type === "skill" && e.handle === "error" ? [] : nodeProduces(node);
      const after = new Set([...available[i]!, ...produced]);
      const before = available[e.target];
      const next = before ? new Set([...before].filter((v) => after.has(v))) : after;
      if (before && next.size === before.size) continue;
      available[e.target] = next;
      work.push(e.target);
    }
  }

  const everSet = new Set([...base, ...[...reachable].flatMap((i) => nodeProduces(graph.nodes[i]!))]);
  const errors: FieldError[] = [];
  for (const i of reachable) {
    for (const use of nodeUses(graph.nodes[i]!)) {
      const field = `nodes[${i}].${use.field}`;
      if (use.presenceOnly) {
        if (!everSet.has(use.variable)) errors.push({ field, message: `${use.variable} is never set in this playbook` });
      } else if (!available[i]!.has(use.variable)) {
        errors.push({ field, message: `uses ${use.variable} before it is gathered on every path from start` });
      }
    }
  }
  return errors;
}

/** Every collect step's validation.pattern, named by its field, for the save path's backtracking check. */
export function graphPatterns(graph: { nodes: { type: string; data: Record<string, unknown> }[] }): PatternAt[] {
  return graph.nodes.flatMap((node, i) => {
    const pattern = node.type === "collect" ? (node.data.validation as { pattern?: unknown } | undefined)?.pattern : undefined;
    return typeof pattern === "string" ? [{ field: `nodes[${i}].data.validation.pattern`, source: pattern }] : [];
  });
}
