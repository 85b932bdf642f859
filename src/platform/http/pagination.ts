// Cursor pagination. A cursor is opaque to clients: base64url of the sort key of the last item returned.
// Lists order by a unique key (ids grow with creation time), so items inserted while a client walks
// the list never shift the pages it has not read yet: nothing is skipped or repeated.
import { Type } from "@sinclair/typebox";
import { t, type TSchema } from "elysia";
import { unstorableCharacter } from "../text.ts";
import { named } from "./envelope.ts";
import { Problem } from "./problem.ts";

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export const PageQuery = {
  cursor: t.Optional(t.String({ description: "Opaque cursor from the previous page's pagination.nextCursor", maxLength: 512 })),
  limit: t.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `Page size, 1–${MAX_LIMIT}` })),
};

export const Pagination = t.Object({
  limit: Type.Integer(),
  nextCursor: t.Union([t.String(), t.Null()], { description: "Pass as `cursor` to get the next page; null on the last page" }),
  hasMore: t.Boolean(),
}, { $id: "Pagination" });

export const Paginated = <T extends TSchema>(item: T) =>
  t.Object({ success: t.Boolean(), data: t.Array(item), pagination: Pagination, message: t.Optional(t.String()) }, named("PaginatedResponse_", item));

export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key })).toString("base64url");
}

export function decodeCursor(cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === "") return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    // A forged cursor could carry text no query can bind (NUL, an unpaired surrogate).
    if (typeof parsed?.k === "string" && parsed.k.length > 0 && !unstorableCharacter(parsed.k)) return parsed.k;
  } catch {}
  throw new Problem(400, "invalid_cursor", "cursor is not one this API returned", {
    errors: [{ field: "cursor", message: "is not a valid cursor" }],
  });
}

/**
 * Turn `limit + 1` rows fetched past the cursor into a page: the extra row only proves there is more.
 */
export function page<Row, Item>(rows: Row[], limit: number, keyOf: (row: Row) => string, toItem: (row: Row) => Item) {
  const hasMore = rows.length > limit;
  const slice = hasMore ? rows.slice(0, limit) : rows;
  const last = slice[slice.length - 1];
  return {
    success: true as const,
    data: slice.map(toItem),
    pagination: { limit, nextCursor: hasMore && last !== undefined ? encodeCursor(keyOf(last)) : null, hasMore },
  };
}
