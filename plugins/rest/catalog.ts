// An OpenAPI document as the normalized catalog. Objects are the component schemas operations return or accept
// (and the components those point at, so a nested object is a one-hop relationship); each operation is bound to the
// object it returns (a read) or accepts (a write), and its path and query parameters become fields of that object
// marked `path parameter` / `query parameter` (unless the object already has a field of that name, like `status`
// for findByStatus or `id` for /users/{id}). Bindings name parameters as `inputs[].arg`, which the app checks against
// the operation's object: this is how a binding reaches them, and how scoping an object or a field blocks them too.
// The call itself (method, path template, query parameters) leads the operation's description, where compile()
// reads it back: compile sees only the validated binding, never the document.
import type { DiscoveredSchema, FieldType, SchemaField, SchemaObject, SchemaOperation, SchemaRelationship } from "../../src/api/integrations/contract.ts";
import { sensitivityByName } from "../sql/sensitivity.ts";
import { type Json, type OpenApiDocument, refName, resolve } from "./document.ts";
import { type Call, formatCall, METHODS, type Method, placeholders } from "./call.ts";

const MAX_DESCRIPTION = 2000;
/** How deep components referencing components are followed: enough for Pet → Category, bounded for huge documents. */
const MAX_DEPTH = 4;

export interface DiscoveredOperation {
  operation: SchemaOperation;
  call: Call;
  /** Parameters a call cannot be made without (path parameters and required query parameters). */
  required: string[];
}

interface Parameter {
  name: string;
  in: "path" | "query";
  required: boolean;
  schema: Json | null;
  description?: string;
}

export type Catalog = DiscoveredSchema & { calls: DiscoveredOperation[] };

export function catalogOf(doc: OpenApiDocument): Catalog {
  const objects = new Map<string, SchemaObject>();
  const calls: DiscoveredOperation[] = [];
  const names = new Set<string>();

  const componentObject = (name: string, depth: number): SchemaObject | null => {
    if (objects.has(name)) return objects.get(name)!;
    const schema = resolve(doc, doc.components?.schemas?.[name]);
    if (!schema || !isObjectSchema(doc, schema)) return null;
    const object: SchemaObject = { name, fields: [], ...(typeof schema.description === "string" ? { description: clip(schema.description) } : {}) };
    objects.set(name, object);
    object.fields = fieldsOf(doc, schema, depth, componentObject);
    return object;
  };
  const inlineObject = (wanted: string, schema: Json): SchemaObject => {
    let name = wanted;
    for (let i = 2; objects.has(name); i++) name = `${wanted}_${i}`;
    const object: SchemaObject = { name, fields: isObjectSchema(doc, schema) ? fieldsOf(doc, schema, 0, componentObject) : [] };
    objects.set(name, object);
    return object;
  };
  /** The object a body schema is: a component (an array's items unwrapped), else one made for this operation. */
  const objectOf = (schema: Json | null, fallback: string): SchemaObject | null => {
    if (!schema) return null;
    const items = schema.type === "array" && schema.items ? (schema.items as Json) : schema;
    if (typeof items.$ref === "string" && items.$ref.startsWith("#/components/schemas/")) {
      const found = componentObject(refName(items.$ref), 0);
      if (found) return found;
    }
    const resolved = resolve(doc, items);
    return resolved && isObjectSchema(doc, resolved) ? inlineObject(fallback, resolved) : null;
  };

  for (const [path, rawItem] of Object.entries(doc.paths)) {
    const item = resolve(doc, rawItem);
    if (!item || !path.startsWith("/")) continue;
    // What the path's GET returns: the object a DELETE (or another call without a body schema) on that path is about.
    let resource: SchemaObject | null = null;
    for (const method of METHODS) {
      const op = item[method.toLowerCase()] as Json | undefined;
      if (!op || typeof op !== "object") continue;
      const name = uniqueName(operationName(op, method, path), names);
      const parameters = parametersOf(doc, item, op, path);
      const isRead = method === "GET";
      const returned = objectOf(bodySchema(successResponse(doc, op)), `${name}_result`);
      const accepted = isRead ? null : objectOf(bodySchema(resolve(doc, op.requestBody)), `${name}_input`);
      if (isRead) resource = returned;
      const object = (isRead ? returned : (accepted ?? returned ?? resource)) ?? inlineObject(`${name}_params`, {});
      for (const p of parameters) addParameter(doc, object, p, name);
      const call: Call = { method, path, query: parameters.filter((p) => p.in === "query").map((p) => p.name) };
      const summary = [op.summary, op.description].find((s): s is string => typeof s === "string" && s.trim() !== "");
      const required = parameters.filter((p) => p.in === "path" || p.required).map((p) => p.name);
      const description = describe(call, summary, required);
      if (!description) continue;
      const operation: SchemaOperation = {
        name,
        object: object.name,
        kind: isRead ? "read" : "write",
        ...(isRead ? {} : { effect: method === "POST" ? ("create" as const) : method === "DELETE" ? ("delete" as const) : ("update" as const) }),
        description,
      };
      calls.push({ operation, call, required });
    }
  }

  const relationships: SchemaRelationship[] = [];
  for (const object of objects.values()) {
    for (const field of object.fields) {
      if (!field.references) continue;
      const target = objects.get(field.references.object);
      const key = target?.fields.find((f) => f.name === "id") ?? target?.fields[0];
      if (!key) {
        field.references = null;
        continue;
      }
      field.references = { object: target!.name, field: key.name };
      relationships.push({ name: `${object.name}.${field.name}`, from: { object: object.name, field: field.name }, to: field.references });
    }
  }
  return { objects: [...objects.values()], relationships, operations: calls.map((c) => c.operation), calls };
}

/** `GET /pet/{petId}` then the summary and what the call needs, within the 2000 characters a description may have. */
function describe(call: Call, summary: string | undefined, required: string[]): string | null {
  const head = formatCall(call);
  if (head.length > MAX_DESCRIPTION - 100) return null;
  const needs = required.length ? ` Needs: ${required.join(", ")}.` : "";
  const text = `${summary?.trim().replace(/\s+/g, " ") ?? ""}${needs}`.trim();
  return clip(text ? `${head}\n${text}` : head);
}

function operationName(op: Json, method: Method, path: string): string {
  if (typeof op.operationId === "string" && /^[A-Za-z0-9_.-]{1,120}$/.test(op.operationId)) return op.operationId;
  const slug = `${method} ${path}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");
  return slug.slice(0, 120);
}

function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}_${i}`;
  taken.add(candidate);
  return candidate;
}

/** Path-item and operation parameters (the operation's win), and any path placeholder the document forgot to declare. */
function parametersOf(doc: OpenApiDocument, item: Json, op: Json, path: string): Parameter[] {
  const byKey = new Map<string, Parameter>();
  for (const raw of [...asArray(item.parameters), ...asArray(op.parameters)]) {
    const p = resolve(doc, raw);
    // Header and cookie parameters are not offered to a caller: a header could carry anything, auth included.
    if (!p || typeof p.name !== "string" || (p.in !== "path" && p.in !== "query")) continue;
    byKey.set(`${p.in}:${p.name}`, {
      name: p.name,
      in: p.in,
      required: p.in === "path" || p.required === true,
      schema: resolve(doc, p.schema),
      ...(typeof p.description === "string" ? { description: p.description } : {}),
    });
  }
  for (const name of placeholders(path)) {
    if (!byKey.has(`path:${name}`)) byKey.set(`path:${name}`, { name, in: "path", required: true, schema: { type: "string" } });
  }
  return [...byKey.values()];
}

function addParameter(doc: OpenApiDocument, object: SchemaObject, p: Parameter, operation: string) {
  const existing = object.fields.find((f) => f.name === p.name);
  const role = `${p.in} parameter`;
  if (existing) {
    // A path parameter picks one record: the field it fills identifies it (an update's or a delete's key).
    if (p.in === "path") existing.unique = true;
    return;
  }
  const field = fieldOf(doc, p.name, p.schema ?? {}, false, 0, () => null);
  object.fields.push({
    ...field,
    nativeType: role,
    required: false,
    nullable: false,
    references: null,
    ...(p.in === "path" ? { unique: true } : {}),
    description: clip(`${p.description ? `${p.description} ` : ""}(${role} of ${operation})`),
  });
}

function successResponse(doc: OpenApiDocument, op: Json): Json | null {
  const responses = (op.responses ?? {}) as Record<string, unknown>;
  const code = Object.keys(responses)
    .filter((c) => /^2(\d\d|XX)$/i.test(c))
    .sort()[0];
  return code ? resolve(doc, responses[code]) : null;
}

/** The JSON body's schema of a response or a request body, unresolved (a `$ref` names its component). */
function bodySchema(holder: Json | null): Json | null {
  const content = holder?.content as Record<string, Json> | undefined;
  if (!content) return null;
  const type = Object.keys(content).find((t) => /^application\/([\w.+-]*\+)?json\b/i.test(t)) ?? Object.keys(content).find((t) => t === "*/*");
  const schema = type ? content[type]?.schema : undefined;
  return schema && typeof schema === "object" ? (schema as Json) : null;
}

function isObjectSchema(doc: OpenApiDocument, schema: Json): boolean {
  return schema.type === "object" || Boolean(schema.properties) || asArray(schema.allOf).some((s) => isObjectSchema(doc, resolve(doc, s) ?? {}));
}

/** Properties and required names, allOf members merged in. */
function propertiesOf(doc: OpenApiDocument, schema: Json, seen = 0): { properties: Record<string, Json>; required: Set<string> } {
  const properties: Record<string, Json> = {};
  const required = new Set<string>();
  if (seen < 10) {
    for (const part of asArray(schema.allOf)) {
      const resolved = resolve(doc, part);
      if (!resolved) continue;
      const inner = propertiesOf(doc, resolved, seen + 1);
      Object.assign(properties, inner.properties);
      for (const r of inner.required) required.add(r);
    }
  }
  Object.assign(properties, (schema.properties ?? {}) as Record<string, Json>);
  for (const r of asArray(schema.required)) if (typeof r === "string") required.add(r);
  return { properties, required };
}

type ComponentObject = (name: string, depth: number) => SchemaObject | null;

function fieldsOf(doc: OpenApiDocument, schema: Json, depth: number, component: ComponentObject): SchemaField[] {
  const { properties, required } = propertiesOf(doc, schema);
  return Object.entries(properties)
    .slice(0, 2000)
    .map(([name, property]) => fieldOf(doc, name, property, required.has(name), depth, component));
}

function fieldOf(doc: OpenApiDocument, name: string, raw: Json, required: boolean, depth: number, component: ComponentObject): SchemaField {
  const ref = typeof raw.$ref === "string" && raw.$ref.startsWith("#/components/schemas/") ? refName(raw.$ref) : null;
  const schema = resolve(doc, raw) ?? {};
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t): t is string => typeof t === "string");
  const type = types.find((t) => t !== "null");
  const nullable = schema.nullable === true || types.includes("null");
  const format = typeof schema.format === "string" ? schema.format : undefined;
  const fieldType = typeOf(type, format, schema);
  const target = ref && depth < MAX_DEPTH ? component(ref, depth + 1) : null;
  const enumValues = Array.isArray(schema.enum) ? schema.enum.filter((v) => v !== null).map(String).slice(0, 500) : null;
  const sensitivity = format === "password" ? "secret" : format === "email" ? "contact" : sensitivityByName(name);
  const field: SchemaField = {
    name,
    type: fieldType,
    nativeType: (ref ?? [type ?? "any", format].filter(Boolean).join(" ")).slice(0, 200),
    required,
    nullable,
    allowedValues: enumValues?.length ? enumValues.map((v) => v.slice(0, 500)) : null,
    // Completed (to the target's id) once every object is known; see catalogOf.
    references: target ? { object: target.name, field: "" } : null,
    sensitivity,
    ...(name === "id" ? { primaryKey: true, unique: true } : {}),
    ...(schema.readOnly === true ? { generated: true } : {}),
  };
  if (typeof schema.description === "string") field.description = clip(schema.description);
  return field;
}

function typeOf(type: string | undefined, format: string | undefined, schema: Json): FieldType {
  if (type === "integer") return "integer";
  if (type === "number") return "number";
  if (type === "boolean") return "boolean";
  if (type === "string" || (!type && Array.isArray(schema.enum))) {
    if (format === "date") return "date";
    if (format === "date-time") return "datetime";
    if (format === "time") return "time";
    if (format === "uuid") return "uuid";
    if (format === "binary") return "binary";
    return "string";
  }
  return "json";
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const clip = (text: string) => (text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text);
