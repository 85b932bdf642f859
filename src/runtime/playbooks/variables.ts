// Which interaction variables a playbook graph or a skill produces and consumes. Pure: the variables registry
// (GET /agents/{id}/variables) reads it to describe an agent, and graph validation reads it to check that a
// variable is gathered before it is used.
import type { CompiledSkill, PlaybookNode } from "../compiled.ts";
import type { BranchData, CollectData, SkillData } from "./graph.ts";

export const VARIABLE_NAME = "^[a-zA-Z_][a-zA-Z0-9_]*$";
const VARIABLE_NAME_RE = new RegExp(VARIABLE_NAME);
// `{name}` or `{name.path}`: the variable is the part before the first dot.
const PLACEHOLDER_RE = /\{([a-zA-Z_][a-zA-Z0-9_]*)(?:\.[a-zA-Z0-9_]+)*\}/g;

export const isVariableName = (name: string) => VARIABLE_NAME_RE.test(name);

/** The variables named by `{var}` placeholders in a text, in order of first appearance. */
export function placeholders(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(PLACEHOLDER_RE), (m) => m[1]!))];
}

/** One place a node reads a variable. `field` is relative to the node (`data.prompt`); `presenceOnly` = only asks whether it is set. */
export interface VariableUse {
  variable: string;
  field: string;
  presenceOnly: boolean;
}

const SPOKEN_FIELDS: Record<string, readonly string[]> = {
  collect: ["prompt", "retryPrompt"],
  message: ["text"],
  confirm: ["prompt"],
  transfer: ["message"],
  end: ["message"],
};

/** Every variable a node reads: placeholders in what it says, branch conditions, skill inputs. */
export function nodeUses(node: PlaybookNode): VariableUse[] {
  const uses: VariableUse[] = [];
  const fromText = (text: unknown, field: string) => {
    if (typeof text === "string") for (const variable of placeholders(text)) uses.push({ variable, field, presenceOnly: false });
  };
  for (const key of SPOKEN_FIELDS[node.type] ?? []) fromText(node.data[key], `data.${key}`);
  if (node.type === "branch") {
    (node.data as Partial<BranchData>).conditions?.forEach((c, i) => {
      uses.push({ variable: c.variable, field: `data.conditions[${i}].variable`, presenceOnly: c.operator === "exists" || c.operator === "not_exists" });
    });
  }
  if (node.type === "skill") {
    for (const [param, template] of Object.entries((node.data as Partial<SkillData>).inputs ?? {})) fromText(template, `data.inputs.${param}`);
  }
  return uses;
}

/** The variables a node sets when it completes: a collect's slot, a skill's output bindings (on success). */
export function nodeProduces(node: PlaybookNode): string[] {
  if (node.type === "collect") return [(node.data as CollectData).variable];
  if (node.type === "skill") {
    const data = node.data as SkillData;
    return [...Object.keys(data.outputs ?? {}), ...(data.outputVariable ? [data.outputVariable] : [])];
  }
  return [];
}

export interface VariableFlow {
  produced: string[];
  consumed: string[];
}

export function playbookVariables(graph: { nodes: PlaybookNode[] }): VariableFlow {
  const produced = new Set<string>();
  const consumed = new Set<string>();
  for (const node of graph.nodes) {
    for (const name of nodeProduces(node)) produced.add(name);
    for (const use of nodeUses(node)) consumed.add(use.variable);
  }
  return { produced: [...produced].filter(isVariableName), consumed: [...consumed].filter(isVariableName) };
}

// executionConfig settings that are sent or spoken with `{param}` templating; anything else is operator data.
const TEMPLATED_SETTINGS = ["url", "headers", "body", "to", "subject", "reply_to", "intro"] as const;

/**
 * A skill produces the keys of its `response_mapping` (an http_webhook binding response fields to variables) and
 * consumes the `{var}` placeholders of its templated settings that are not its own caller-collected parameters.
 */
export function skillVariables(skill: Pick<CompiledSkill, "executionConfig" | "parametersSchema">): VariableFlow {
  const config = skill.executionConfig;
  const mapping = config.response_mapping;
  const produced = mapping && typeof mapping === "object" && !Array.isArray(mapping) ? Object.keys(mapping).filter(isVariableName) : [];
  const params = new Set(Object.keys(skill.parametersSchema.properties ?? {}));
  const consumed = new Set<string>();
  for (const key of TEMPLATED_SETTINGS) {
    for (const text of strings(config[key])) for (const name of placeholders(text)) if (!params.has(name)) consumed.add(name);
  }
  return { produced, consumed: [...consumed] };
}

function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}
