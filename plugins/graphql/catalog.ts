// Introspection turned into the normalized schema. Objects are the object types a root field returns, and those
// reachable from them through single object-typed fields whose target has an `id`; each Query field is a read and
// each Mutation field a write of the type it returns. A root field's arguments are bound by name: an argument named
// like a field of the returned type fills that field's place, and one named like none is listed on the type as an
// argument field (generated: false, the only fields that are), so a binding can name it. Each operation's
// description ends with its signature in SDL, which is all compile() gets to check a binding against.
import {
  getIntrospectionQuery,
  getNamedType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLInputObjectType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLType,
  type IntrospectionQuery,
  buildClientSchema,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isRequiredArgument,
  isRequiredInputField,
} from "graphql";
import type { DiscoveredSchema, FieldType, PluginContext, SchemaField, SchemaOperation, SchemaRelationship, Sensitivity } from "../../src/api/integrations/contract.ts";
import { PluginError } from "../../src/api/integrations/contract.ts";
import { sensitivityByName } from "../sql/sensitivity.ts";
import { failureOf, post } from "./transport.ts";

/** Where an operation's description carries its signature (see compile). */
export const SIGNATURE_MARK = "\n\nGraphQL: ";
const MAX_DESCRIPTION = 2000;
const MAX_OBJECTS = 5000;
const MAX_FIELDS = 2000;

export const INTROSPECTION_QUERY = getIntrospectionQuery({ descriptions: true, inputValueDeprecation: false });

/** The API's schema by introspection; a server with introspection off answers a clear invalid_input. */
export async function introspect(ctx: PluginContext): Promise<GraphQLSchema> {
  const answer = await post(ctx, INTROSPECTION_QUERY);
  if (!answer.data?.__schema) {
    const said = answer.errors.length ? failureOf(answer.errors).message : "no __schema in the answer";
    throw new PluginError("refused", `introspection is not allowed on this endpoint (${said}); discovery needs it: enable introspection for these credentials`);
  }
  try {
    return buildClientSchema(answer.data as unknown as IntrospectionQuery, { assumeValid: true });
  } catch (error) {
    throw new PluginError("unavailable", `the introspection answer is not a usable schema: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function catalogOf(schema: GraphQLSchema, log: PluginContext["log"]): DiscoveredSchema {
  const objects = new Map<string, { type: GraphQLObjectType; fields: SchemaField[] }>();
  const relationships: SchemaRelationship[] = [];
  const operations: SchemaOperation[] = [];
  const queue: GraphQLObjectType[] = [];
  const visit = (type: GraphQLObjectType) => {
    if (objects.has(type.name) || objects.size >= MAX_OBJECTS) return;
    objects.set(type.name, { type, fields: [] });
    queue.push(type);
  };

  const roots = [
    { root: schema.getQueryType(), kind: "read" as const },
    { root: schema.getMutationType(), kind: "write" as const },
  ];
  const bindable = new Map<string, { name: string; type: GraphQLType; from: string }[]>();
  let skipped = 0;
  for (const { root, kind } of roots) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const target = getNamedType(field.type);
      const names = argumentNames(field);
      const signature = signatureOf(root.name, field);
      if (!isObjectType(target) || !names || signature.length > MAX_DESCRIPTION / 2) {
        skipped++;
        continue;
      }
      visit(target);
      if (!objects.has(target.name)) {
        skipped++;
        continue;
      }
      const human = field.description?.trim() || `${kind === "read" ? "Reads" : "Runs"} ${root.name}.${field.name}, answering ${String(field.type)}`;
      operations.push({
        name: `${root.name}.${field.name}`,
        object: target.name,
        kind,
        ...(kind === "write" ? { effect: effectOf(field.name) } : {}),
        description: human.slice(0, MAX_DESCRIPTION - SIGNATURE_MARK.length - signature.length) + SIGNATURE_MARK + signature,
      });
      const list = bindable.get(target.name) ?? [];
      for (const n of names) list.push({ ...n, from: `${root.name}.${field.name}` });
      bindable.set(target.name, list);
    }
  }

  while (queue.length) {
    const type = queue.shift()!;
    const entry = objects.get(type.name)!;
    for (const field of Object.values(type.getFields())) {
      if (entry.fields.length >= MAX_FIELDS) break;
      if (field.args.some(isRequiredArgument)) continue;
      const named = getNamedType(field.type);
      if (isLeafType(named)) {
        entry.fields.push(leafField(field.name, field.type, named, field.description));
        continue;
      }
      // One hop through a single object that has an id, as a foreign key would be: lists and id-less objects stay out.
      if (!isObjectType(named) || isListType(unwrapNonNull(field.type)) || !named.getFields().id) continue;
      visit(named);
      entry.fields.push({
        name: field.name,
        type: "string",
        nativeType: String(field.type),
        required: isNonNullType(field.type),
        nullable: !isNonNullType(field.type),
        references: { object: named.name, field: "id" },
        generated: true,
        ...(field.description ? { description: field.description.slice(0, MAX_DESCRIPTION) } : {}),
      });
      relationships.push({ name: `${type.name}.${field.name}`, from: { object: type.name, field: field.name }, to: { object: named.name, field: "id" } });
    }
    for (const argument of bindable.get(type.name) ?? []) {
      if (entry.fields.some((f) => f.name === argument.name) || entry.fields.length >= MAX_FIELDS) continue;
      const named = getNamedType(argument.type);
      entry.fields.push({
        ...leafField(argument.name, argument.type, named, undefined),
        required: false,
        nullable: true,
        generated: false,
        unique: false,
        primaryKey: false,
        description: `An argument of ${argument.from}, not a field ${type.name} returns`,
      });
    }
  }
  // A relationship whose target never made it in (the object cap) is left out, as its field's reference is.
  const kept = relationships.filter((r) => objects.has(r.to.object));
  if (skipped) log.debug("graphql root fields left out", { skipped, why: "not returning an object type, or a required argument that is a list or a nested input" });
  return {
    objects: [...objects.values()].map(({ type, fields }) => ({
      name: type.name,
      ...(type.description ? { description: type.description.slice(0, MAX_DESCRIPTION) } : {}),
      fields: fields.map((f) => (f.references && !objects.has(f.references.object) ? { ...f, references: null } : f)),
    })),
    relationships: kept,
    operations,
  };
}

/**
 * The names a binding can give a root field: its leaf arguments, and the leaf fields of its input-object arguments
 * (one level); null when a required argument is neither (a list, a nested input), which no binding could fill.
 */
function argumentNames(field: GraphQLField<unknown, unknown>): { name: string; type: GraphQLType }[] | null {
  const names: { name: string; type: GraphQLType }[] = [];
  for (const arg of field.args) {
    const bare = unwrapNonNull(arg.type);
    if (isLeafType(bare)) names.push({ name: arg.name, type: arg.type });
    else if (isInputObjectType(bare)) {
      for (const input of Object.values(bare.getFields())) {
        const inner = unwrapNonNull(input.type);
        if (isLeafType(inner)) names.push({ name: input.name, type: input.type });
        else if (isRequiredInputField(input) && isRequiredArgument(arg)) return null;
      }
    } else if (isRequiredArgument(arg)) return null;
  }
  // A name at the top level wins over the same name inside an input object.
  return names.filter((n, i) => names.findIndex((m) => m.name === n.name) === i);
}

/** `type Query { order(id: ID!): Order } input …` for the field and the input objects its arguments take. */
function signatureOf(root: string, field: GraphQLField<unknown, unknown>): string {
  const inputs = field.args.map((a) => unwrapNonNull(a.type)).filter((t): t is GraphQLInputObjectType => isInputObjectType(t));
  const args = field.args.length ? `(${field.args.map(argumentSdl).join(", ")})` : "";
  const inputSdl = [...new Set(inputs)].map((t) => ` input ${t.name} { ${Object.values(t.getFields()).map(argumentSdl).join(" ")} }`).join("");
  return `type ${root} { ${field.name}${args}: ${String(field.type)} }${inputSdl}`;
}

/**
 * An argument or input field in SDL. One with a default is printed nullable: it need not be given, which is all
 * compile() must know of the default, and a variable of the nullable type may fill it.
 */
const argumentSdl = (a: GraphQLArgument | GraphQLInputField) => `${a.name}: ${String(a.defaultValue !== undefined && isNonNullType(a.type) ? a.type.ofType : a.type)}`;

function leafField(name: string, type: GraphQLType, named: GraphQLNamedType, description: string | null | undefined): SchemaField {
  const isId = named.name === "ID";
  const list = isListType(unwrapNonNull(type));
  return {
    name,
    type: list ? "json" : fieldTypeOf(named),
    nativeType: String(type),
    required: isNonNullType(type),
    nullable: !isNonNullType(type),
    ...(isEnumType(named) && !list ? { allowedValues: named.getValues().map((v) => v.name).slice(0, 500) } : {}),
    sensitivity: sensitivityOf(name),
    ...(isId && !list ? { unique: true, ...(name === "id" ? { primaryKey: true } : {}) } : {}),
    generated: true,
    ...(description ? { description: description.slice(0, MAX_DESCRIPTION) } : {}),
  };
}

const SCALARS: Record<string, FieldType> = { Int: "integer", Float: "number", Boolean: "boolean", String: "string", ID: "string" };

function fieldTypeOf(named: GraphQLNamedType): FieldType {
  if (SCALARS[named.name]) return SCALARS[named.name]!;
  if (isEnumType(named)) return "string";
  const n = named.name.toLowerCase();
  if (/^(iso8601)?(datetime|timestamp|timestamptz|instant)$/.test(n)) return "datetime";
  if (/^(iso8601)?date$|^localdate$/.test(n)) return "date";
  if (/^(localtime|time)$/.test(n)) return "time";
  if (/^(json|jsonobject|object|map)$/.test(n)) return "json";
  if (n === "uuid") return "uuid";
  return "string";
}

/** By the field's name: the SQL plugins' classes, plus a bare `name` (a person's, in most APIs) as contact. */
function sensitivityOf(name: string): Sensitivity | null {
  const known = sensitivityByName(name);
  if (known) return known;
  if (name.toLowerCase() === "name") return "contact";
  if (/card/i.test(name)) return "payment_card";
  return null;
}

function effectOf(name: string): "create" | "update" | "delete" {
  if (/^(update|set|edit|change|modify|patch|cancel|archive)/i.test(name)) return "update";
  if (/^(delete|remove|destroy)/i.test(name)) return "delete";
  return "create";
}

const unwrapNonNull = (type: GraphQLType): GraphQLType => (isNonNullType(type) ? type.ofType : type);
