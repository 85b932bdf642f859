// The success envelope every JSON endpoint answers with: ApiResponse<T> = { success, data, message? }.
import { t, type TSchema } from "elysia";

export const ok = <T>(data: T, message?: string) => (message === undefined ? { success: true as const, data } : { success: true as const, data, message });

/**
 * The document names an envelope after what it carries (`ApiResponse_Agent`, `ApiResponse_Agent_List`) when that has a
 * name (`$id`): openapi.ts hoists every named schema into components.schemas.
 */
export const Envelope = <T extends TSchema>(data: T, description?: string) =>
  t.Object({ success: t.Boolean(), data, message: t.Optional(t.String()) }, { ...(description ? { description } : {}), ...named("ApiResponse_", data) });

/** The `$id` a wrapper of `schema` is named by, when `schema` (or the items of an array schema) has a name. */
export function named(prefix: string, schema: TSchema): { $id?: string } {
  if (typeof schema.$id === "string") return { $id: `${prefix}${schema.$id}` };
  const items = (schema as { items?: TSchema }).items;
  return schema.type === "array" && typeof items?.$id === "string" ? { $id: `${prefix}${items.$id}_List` } : {};
}

/** ApiResponse_Void: operations that answer with no data. */
export const VoidEnvelope = t.Object({ success: t.Boolean(), data: t.Null(), message: t.Optional(t.String()) }, { $id: "ApiResponse_Void" });
