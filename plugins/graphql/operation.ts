// A binding compiled to a fixed GraphQL document whose every caller value is a variable, checked against the
// operation's signature and the bound type as discovery recorded them; and a compiled operation run: the variables
// assembled from the caller's arguments, the answer projected onto the binding's leaves.
import {
  buildSchema,
  type DocumentNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  Kind,
  parse,
  print,
  type TypeNode,
  validate,
  visit,
} from "graphql";
import type { CompiledOperation, OperationResult, PluginContext, SchemaField, ValidatedBinding } from "../../src/api/integrations/contract.ts";
import { PluginError } from "../../src/api/integrations/contract.ts";
import { SIGNATURE_MARK } from "./catalog.ts";
import { failureOf, post } from "./transport.ts";

/** Records a read answers at most: a caller hears a handful, and the rest is cut rather than read out. */
export const MAX_ROWS = 50;
const NAME = /^[_A-Za-z][_0-9A-Za-z]{0,127}$/;
const BUILT_IN = new Set(["ID", "String", "Int", "Float", "Boolean"]);

type Source = { param: string } | { constant: string | number | boolean | null };
/** A variable of the document: filled from one caller parameter or constant, or (an input object) from several. */
export type Variable = { name: string; type: string } & (Source | { fields: ({ field: string; type: string } & Source)[] });

export interface GraphqlOperation extends CompiledOperation {
  document: string;
  /** The root field whose answer is projected. */
  root: string;
  variables: Variable[];
  /** Paths below the root field, each onto a leaf of the skill's answer. */
  select: { path: string[]; leaf: string }[];
}

interface Signature {
  kind: "query" | "mutation";
  rootType: string;
  field: FieldDefinitionNode;
  inputs: Map<string, readonly InputValueDefinitionNode[]>;
  sdl: string;
}

export function compile(binding: ValidatedBinding): GraphqlOperation {
  const signature = signatureOf(binding);
  const { field } = signature;
  if (binding.search) throw new PluginError("invalid_binding", "a GraphQL read takes inputs naming its arguments, not sqlSearch", ["sqlSearch"]);

  // Each name a binding gives is a root argument, or a field of one of its input-object arguments.
  const topLevel = new Map((field.arguments ?? []).map((a) => [a.name.value, a]));
  const variables = new Map<string, Variable>();
  const place = (name: string, source: Source, at: string) => {
    assertName(name, at);
    const arg = topLevel.get(name);
    if (arg && isLeafArgument(arg, signature)) {
      variables.set(name, { name, type: print(arg.type), ...source });
      return;
    }
    for (const candidate of field.arguments ?? []) {
      const fields = signature.inputs.get(namedOf(candidate.type));
      const input = fields?.find((f) => f.name.value === name);
      if (!input) continue;
      const known = variables.get(candidate.name.value);
      const parts = known && "fields" in known ? known.fields : [];
      parts.push({ field: name, type: print(input.type), ...source });
      variables.set(candidate.name.value, { name: candidate.name.value, type: print(candidate.type), fields: parts });
      return;
    }
    throw new PluginError("invalid_binding", `${binding.operation.name} takes no argument "${name}"; it takes ${describeArguments(signature)}`, [at]);
  };
  if (!binding.isWrite) {
    for (const [i, input] of binding.inputs.entries()) place(input.arg, { param: input.param }, `inputs[${i}].arg`);
  } else {
    for (const [i, value] of binding.values.entries()) place(value.field, "param" in value ? { param: value.param } : { constant: value.constant }, `inputObjectMap[${i}].field`);
    if (binding.key) place(binding.key.field, { param: binding.key.param }, "sqlWrite.keyColumn");
  }
  for (const [name, fields] of inputArguments(signature)) {
    const given = variables.get(name);
    if (!given) continue;
    const missing = fields.filter((f) => f.type.kind === Kind.NON_NULL_TYPE && !f.defaultValue && !("fields" in given && given.fields.some((g) => g.field === f.name.value)));
    if (missing.length) throw new PluginError("invalid_binding", `${binding.operation.name} needs ${missing.map((f) => `${name}.${f.name.value}`).join(", ")}: bind each to a param or a constant`, ["inputObjectMap"]);
  }

  const { selection, select, types } = selectionOf(binding);
  const declared = [...variables.values()].map((v) => `$${v.name}: ${v.type}`).join(", ");
  const args = [...variables.values()].map((v) => `${v.name}: $${v.name}`).join(", ");
  const text = `${signature.kind} Bound${declared ? `(${declared})` : ""} { ${field.name.value}${args ? `(${args})` : ""} { ${selection} } }`;
  let document: DocumentNode;
  try {
    document = parse(text, { noLocation: true });
  } catch (error) {
    throw new PluginError("invalid_binding", `the binding does not make a GraphQL document: ${messageOf(error)}`);
  }
  const problems = validate(checkSchema(signature, binding, types), document).map((e) => e.message);
  if (problems.length) throw new PluginError("invalid_binding", `the document does not fit the API: ${problems.slice(0, 3).join("; ")}`);
  return { operation: binding.operation.name, document: print(document), root: field.name.value, variables: [...variables.values()], select };
}

/** The operation's signature, as discovery wrote it at the end of the operation's description. */
function signatureOf(binding: ValidatedBinding): Signature {
  const at = binding.operation.description.lastIndexOf(SIGNATURE_MARK);
  const sdl = at < 0 ? "" : binding.operation.description.slice(at + SIGNATURE_MARK.length);
  let parsed: DocumentNode;
  try {
    parsed = parse(sdl, { noLocation: true });
  } catch {
    throw new PluginError("invalid_binding", `${binding.operation.name} carries no GraphQL signature: discover the API again`);
  }
  const root = parsed.definitions.find((d) => d.kind === Kind.OBJECT_TYPE_DEFINITION);
  const field = root?.kind === Kind.OBJECT_TYPE_DEFINITION ? root.fields?.[0] : undefined;
  if (!root || root.kind !== Kind.OBJECT_TYPE_DEFINITION || !field) throw new PluginError("invalid_binding", `${binding.operation.name} carries no GraphQL signature: discover the API again`);
  const inputs = new Map<string, readonly InputValueDefinitionNode[]>();
  for (const d of parsed.definitions) if (d.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION) inputs.set(d.name.value, d.fields ?? []);
  return { kind: binding.isWrite ? "mutation" : "query", rootType: root.name.value, field, inputs, sdl };
}

/** The selection under the root field, and the type shapes it assumes (checked with it). */
function selectionOf(binding: ValidatedBinding) {
  const fields = new Map(binding.object.fields.map((f) => [f.name, f]));
  const direct = new Set<string>();
  const hops = new Map<string, { field: SchemaField; picks: Set<string> }>();
  const select: GraphqlOperation["select"] = [];
  binding.projection.forEach((p, i) => {
    const at = `projection[${i}].path`;
    const first = fields.get(p.path[0])!;
    for (const name of p.path) assertName(name, at);
    if (first.generated === false) throw new PluginError("invalid_binding", `${first.name} is an argument of the operation, not a field ${binding.object.name} returns`, [at]);
    const second = p.path[1] ?? first.references?.field;
    if (!first.references || !second) {
      if (p.path.length > 1) throw new PluginError("invalid_binding", `${first.name} is not an object to select from`, [at]);
      direct.add(first.name);
      select.push({ path: [first.name], leaf: p.leaf });
      return;
    }
    const hop = hops.get(first.name) ?? { field: first, picks: new Set<string>() };
    hop.picks.add(second);
    hops.set(first.name, hop);
    select.push({ path: [first.name, second], leaf: p.leaf });
  });
  const selection = [...direct, ...[...hops].map(([name, hop]) => `${name} { ${[...hop.picks].join(" ")} }`)].join(" ");
  // The bound type with its returned fields, and each hop's target with what is picked of it.
  const types = new Map<string, Map<string, string>>();
  const shape = (type: string) => types.get(type) ?? types.set(type, new Map()).get(type)!;
  for (const f of binding.object.fields) if (f.generated !== false && f.nativeType) shape(binding.object.name).set(f.name, f.nativeType);
  for (const hop of hops.values()) {
    const target = shape(hop.field.references!.object);
    for (const pick of hop.picks) if (!target.has(pick)) target.set(pick, pick === "id" ? "ID" : "_Leaf");
  }
  return { selection, select, types };
}

/**
 * What the document is validated against: the operation's signature and the bound type's fields as discovered. A hop's
 * target is known only by the fields the binding picks of it (the contract hands compile the bound object alone),
 * so those are taken as leaves; one that is not fails when the skill runs, as invalid_binding.
 */
function checkSchema(signature: Signature, binding: ValidatedBinding, types: Map<string, Map<string, string>>) {
  const returned = namedOf(signature.field.type);
  if (returned !== binding.object.name) throw new PluginError("invalid_binding", `${binding.operation.name} returns ${returned}, not ${binding.object.name}`);
  let sdl = signature.sdl;
  for (const [type, fields] of types) sdl += ` type ${type} { ${[...fields].map(([n, t]) => `${n}: ${t}`).join(" ")} }`;
  // Root types keep the API's names (Shopify's is QueryRoot); a mutation still needs some query type beside it.
  if (signature.kind === "mutation") sdl += ` type _Root { _: Boolean } schema { query: _Root mutation: ${signature.rootType} }`;
  else sdl += ` schema { query: ${signature.rootType} }`;
  // Enums and custom scalars are opaque here: the API checks their values when the skill runs.
  try {
    const defined = new Set<string>(BUILT_IN);
    const used = new Set<string>(["_Leaf"]);
    const parsed = parse(sdl, { noLocation: true });
    for (const d of parsed.definitions) if ("name" in d && d.name) defined.add(d.name.value);
    visit(parsed, { NamedType: (node) => void used.add(node.name.value) });
    for (const name of used) if (!defined.has(name)) sdl += ` scalar ${name}`;
    return buildSchema(sdl, { noLocation: true });
  } catch (error) {
    throw new PluginError("invalid_binding", `${binding.operation.name}'s signature does not make a schema: ${messageOf(error)}`);
  }
}

function inputArguments(signature: Signature): [string, readonly InputValueDefinitionNode[]][] {
  return (signature.field.arguments ?? []).flatMap((a) => {
    const fields = signature.inputs.get(namedOf(a.type));
    return fields ? [[a.name.value, fields] as [string, readonly InputValueDefinitionNode[]]] : [];
  });
}

const isLeafArgument = (arg: InputValueDefinitionNode, signature: Signature) =>
  (arg.type.kind === Kind.NON_NULL_TYPE ? arg.type.type : arg.type).kind !== Kind.LIST_TYPE && !signature.inputs.has(namedOf(arg.type));

const describeArguments = (signature: Signature) =>
  (signature.field.arguments ?? []).map((a) => `${a.name.value}: ${print(a.type)}`).join(", ") || "no arguments";

function namedOf(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedOf(type.type);
}

function assertName(name: string, at: string) {
  if (!NAME.test(name)) throw new PluginError("invalid_binding", `"${name}" is not a GraphQL name`, [at]);
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).slice(0, 300);

/** Runs a compiled operation: caller values travel as variables only, the answer is projected onto the leaves. */
export async function execute(operation: CompiledOperation, args: Record<string, unknown>, ctx: PluginContext): Promise<OperationResult> {
  const op = operation as Partial<GraphqlOperation>;
  if (typeof op.document !== "string" || typeof op.root !== "string" || !Array.isArray(op.variables) || !Array.isArray(op.select)) {
    throw new PluginError("invalid_binding", "not a compiled GraphQL operation: bind it again");
  }
  const variables: Record<string, unknown> = {};
  const missing: string[] = [];
  const sourced = (source: Source, type: string) => {
    if ("constant" in source) return source.constant;
    const value = args[source.param];
    if (value === undefined || value === null || value === "") {
      if (type.endsWith("!")) missing.push(source.param);
      return undefined;
    }
    return coerced(value, type);
  };
  for (const v of op.variables) {
    if ("fields" in v) {
      const parts = Object.fromEntries(v.fields.map((f) => [f.field, sourced(f, f.type)]).filter(([, value]) => value !== undefined));
      variables[v.name] = parts;
    } else {
      const value = sourced(v, v.type);
      if (value !== undefined) variables[v.name] = value;
    }
  }
  if (missing.length) throw new PluginError("invalid_input", `${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} needed`, missing);

  const answer = await post(ctx, op.document, variables);
  const value = answer.data?.[op.root];
  if (answer.errors.length && (value === undefined || value === null)) throw failureOf(answer.errors);
  if (answer.errors.length) ctx.log.warn("graphql answered data with errors", { operation: op.operation, errors: answer.errors.length });
  if (value === undefined || value === null) return { rows: [] };
  const records = (Array.isArray(value) ? value : [value]).filter((r): r is Record<string, unknown> => r !== null && typeof r === "object");
  const rows = records.slice(0, MAX_ROWS).map((record) => project(record, op.select!));
  return records.length > MAX_ROWS ? { rows, info: { truncated: true, returned: records.length } } : { rows };
}

function project(record: Record<string, unknown>, select: GraphqlOperation["select"]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const { path, leaf } of select) {
    let value: unknown = record;
    for (const step of path) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[step] : undefined;
    row[leaf] = value ?? null;
  }
  return row;
}

/** A caller's value in the JSON GraphQL expects for the variable: "1001" for an ID said as a number, 3 for "3". */
function coerced(value: unknown, type: string): unknown {
  const named = type.replace(/[[\]!]/g, "");
  if ((named === "ID" || named === "String") && typeof value === "number") return String(value);
  if ((named === "Int" || named === "Float") && typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return value;
}
