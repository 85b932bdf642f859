// The success envelope every JSON endpoint answers with: ApiResponse<T> = { success, data, message? }.
import { t, type TSchema } from "elysia";

export const ok = <T>(data: T, message?: string) => (message === undefined ? { success: true as const, data } : { success: true as const, data, message });

export const Envelope = <T extends TSchema>(data: T, description?: string) =>
  t.Object({ success: t.Boolean(), data, message: t.Optional(t.String()) }, description ? { description } : {});

/** ApiResponse_Void: operations that answer with no data. */
export const VoidEnvelope = t.Object({ success: t.Boolean(), data: t.Null(), message: t.Optional(t.String()) });
