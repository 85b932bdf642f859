// A binding request checked against the discovered schema as the organization's scoping leaves it: the operation,
// every field it names, the search column (a leading index), the projection (a field, or one foreign-key hop and the
// target's field), and for writes the record's required fields, refused sensitive inputs and the update key. What
// passes becomes the ValidatedBinding a plugin compiles, and the caller parameters the skill will ask for.
import type { FieldError } from "../../platform/http/problem.ts";
import type { DiscoveredSchema, FieldType, SchemaField, SchemaObject, ValidatedBinding } from "./contract.ts";
import type { BindingInput } from "./model.ts";

const LEAF = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const DEFAULT_SEARCH_LIMIT = 10;

export interface CallerParameter {
  type: "string" | "number" | "integer" | "boolean";
  format?: string;
  description?: string;
  enum?: string[];
}

export interface CheckedBinding {
  validated: ValidatedBinding;
  /** The caller parameters the skill asks for, typed from the fields they fill. */
  parameters: Record<string, CallerParameter>;
}

/** Checks `input` against `schema` (already scoped); answers the binding, or the errors naming each bad field. */
export function checkBinding(input: BindingInput, schema: DiscoveredSchema): { binding: CheckedBinding } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const operation = schema.operations.find((op) => op.name === input.operation);
  if (!operation) return { errors: [{ field: "operation", message: `"${input.operation}" is not an operation of the discovered schema (GET …/operations?readOnly=false lists them)` }] };
  const object = schema.objects.find((o) => o.name === operation.object)!;
  const isWrite = operation.kind === "write";
  if (input.isWrite !== undefined && input.isWrite !== isWrite) errors.push({ field: "isWrite", message: `must be ${isWrite}: ${operation.name} is a ${operation.kind}` });

  const parameters: Record<string, CallerParameter> = {};
  const fieldOf = (name: string, at: string): SchemaField | null => {
    const field = object.fields.find((f) => f.name === name);
    if (!field) errors.push({ field: at, message: `"${name}" is not a field of ${object.name}` });
    return field ?? null;
  };
  const param = (name: string, field: SchemaField, at: string) => {
    const spec = parameterFor(field);
    const known = parameters[name];
    if (known && known.type !== spec.type) errors.push({ field: at, message: `parameter "${name}" is already used for a ${known.type}` });
    else parameters[name] = spec;
  };

  let search: ValidatedBinding["search"] = null;
  const inputs: ValidatedBinding["inputs"] = [];
  const values: ValidatedBinding["values"] = [];
  let key: ValidatedBinding["key"] = null;

  if (!isWrite) {
    if (input.inputObjectMap?.length) errors.push({ field: "inputObjectMap", message: "is for writes; a read takes inputs or sqlSearch" });
    if (input.sqlWrite) errors.push({ field: "sqlWrite", message: "is for writes" });
    if (input.sqlSearch) {
      const field = fieldOf(input.sqlSearch.column, "sqlSearch.column");
      if (field && !field.leadingIndex) errors.push({ field: "sqlSearch.column", message: `${object.name}.${field.name} is not the leading column of an index; search on one that is` });
      if (field) {
        param(input.sqlSearch.param, field, "sqlSearch.param");
        search = { field: field.name, param: input.sqlSearch.param, limit: input.sqlSearch.limit ?? DEFAULT_SEARCH_LIMIT };
      }
    }
    input.inputs?.forEach((entry, i) => {
      const field = fieldOf(entry.arg, `inputs[${i}].arg`);
      if (field) {
        param(entry.param, field, `inputs[${i}].param`);
        inputs.push({ param: entry.param, arg: field.name });
      }
    });
    if (!input.projection?.length) errors.push({ field: "projection", message: "must name at least one field the read returns" });
  } else {
    if (input.inputs?.length) errors.push({ field: "inputs", message: "is for reads; a write takes inputObjectMap" });
    if (input.sqlSearch) errors.push({ field: "sqlSearch", message: "is for reads" });
    const bound = new Set<string>();
    input.inputObjectMap?.forEach((entry, i) => {
      const at = `inputObjectMap[${i}]`;
      const hasParam = entry.param !== undefined;
      const hasConstant = entry.constant !== undefined;
      if (hasParam === hasConstant) errors.push({ field: at, message: "needs exactly one of param or constant" });
      const field = fieldOf(entry.field, `${at}.field`);
      if (!field) return;
      if (field.sensitivity && field.sensitivity !== "contact") errors.push({ field: `${at}.field`, message: `${object.name}.${field.name} is classed ${field.sensitivity}; sensitive fields cannot be written by an agent` });
      if (bound.has(field.name)) errors.push({ field: `${at}.field`, message: `${field.name} is bound twice` });
      bound.add(field.name);
      if (hasParam) {
        param(entry.param!, field, `${at}.param`);
        values.push({ field: field.name, param: entry.param! });
      } else if (hasConstant) values.push({ field: field.name, constant: entry.constant as string | number | boolean | null });
    });
    if (operation.effect === "create" || operation.effect === undefined) {
      for (const field of requiredFields(object)) {
        if (!bound.has(field.name)) errors.push({ field: "inputObjectMap", message: `${object.name}.${field.name} is required to create a record: bind it to a param or a constant` });
      }
    }
    if (operation.effect === "update" || operation.effect === "delete") {
      if (!input.sqlWrite) errors.push({ field: "sqlWrite", message: `an ${operation.effect} needs keyColumn and keyParam naming the unique field that picks the record` });
      else {
        const field = fieldOf(input.sqlWrite.keyColumn, "sqlWrite.keyColumn");
        if (field && !field.unique && !field.primaryKey) errors.push({ field: "sqlWrite.keyColumn", message: `${object.name}.${field.name} is not unique, so it could change more than one record` });
        if (field) {
          param(input.sqlWrite.keyParam, field, "sqlWrite.keyParam");
          key = { field: field.name, param: input.sqlWrite.keyParam };
        }
      }
    } else if (input.sqlWrite) errors.push({ field: "sqlWrite", message: "is for updates; a create inserts one record" });
  }

  const projection: ValidatedBinding["projection"] = [];
  const leaves = new Set<string>();
  input.projection?.forEach((entry, i) => {
    const at = `projection[${i}]`;
    if (!LEAF.test(entry.leaf)) errors.push({ field: `${at}.leaf`, message: "must be a name of letters, digits and _" });
    else if (leaves.has(entry.leaf)) errors.push({ field: `${at}.leaf`, message: `"${entry.leaf}" is used twice` });
    leaves.add(entry.leaf);
    const path = typeof entry.path === "string" ? [entry.path] : entry.path;
    const first = fieldOf(path[0]!, `${at}.path`);
    if (!first) return;
    if (path.length === 1) {
      projection.push({ path: [first.name], leaf: entry.leaf });
      return;
    }
    const target = first.references ? schema.objects.find((o) => o.name === first.references!.object) : undefined;
    if (!target) {
      errors.push({ field: `${at}.path`, message: `${object.name}.${first.name} is not a relationship to a visible object` });
      return;
    }
    if (!target.fields.some((f) => f.name === path[1])) {
      errors.push({ field: `${at}.path`, message: `"${path[1]}" is not a field of ${target.name}` });
      return;
    }
    projection.push({ path: [first.name, path[1]!], leaf: entry.leaf });
  });

  if (errors.length) return { errors };
  return { binding: { validated: { operation, object, isWrite, search, inputs, values, key, projection }, parameters } };
}

/** What a create must be given: required fields the provider does not fill itself. */
export const requiredFields = (object: SchemaObject) => object.fields.filter((f) => f.required && !f.generated);

const FORMATS: Partial<Record<FieldType, string>> = { date: "date", datetime: "date-time", time: "time", uuid: "uuid" };

export function parameterFor(field: SchemaField): CallerParameter {
  const type = field.type === "integer" ? "integer" : field.type === "number" ? "number" : field.type === "boolean" ? "boolean" : "string";
  const format = FORMATS[field.type];
  return {
    type,
    ...(format ? { format } : {}),
    ...(field.description ? { description: field.description.slice(0, 1000) } : {}),
    ...(type === "string" && field.allowedValues?.length ? { enum: field.allowedValues.slice(0, 100) } : {}),
  };
}
