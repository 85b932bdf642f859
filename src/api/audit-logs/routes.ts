// GET /audit-logs: who changed what, newest first, filtered by date range and actor.
import { Type } from "@sinclair/typebox";
import { and, desc, eq, gte, lt, lte, type SQL } from "drizzle-orm";
import { Elysia, t } from "elysia";
import type { AuditRecorder } from "../../platform/audit/recorder.ts";
import type { Principal } from "../../platform/auth/principal.ts";
import type { Db } from "../../platform/db/index.ts";
import { auditLogs } from "../../platform/db/schema/index.ts";
import type { createConventions } from "../../platform/http/conventions.ts";
import { problems } from "../../platform/http/docs.ts";
import { decodeCursor, DEFAULT_LIMIT, page, PageQuery, Paginated } from "../../platform/http/pagination.ts";
import { Problem } from "../../platform/http/problem.ts";

const ActorType = t.Union([t.Literal("user"), t.Literal("apiKey"), t.Literal("visitor"), t.Literal("system")]);

export const AuditLog = t.Object({
  id: t.String(),
  actorType: ActorType,
  actorId: t.Union([t.String(), t.Null()]),
  method: t.String(),
  path: t.String(),
  status: Type.Integer(),
  requestId: t.Union([t.String(), t.Null()]),
  createdAt: t.String({ format: "date-time" }),
}, { $id: "AuditLog" });

const toDto = (row: typeof auditLogs.$inferSelect) => ({
  id: row.id,
  actorType: row.actorType as "user" | "apiKey" | "visitor" | "system",
  actorId: row.actorId,
  method: row.method,
  path: row.path,
  status: row.status,
  requestId: row.requestId,
  createdAt: row.createdAt.toISOString(),
});

function instant(value: string | undefined, field: string): Date | null {
  if (value === undefined) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Problem(400, "validation_error", `${field} is not a date-time`, { errors: [{ field, message: "must be an ISO 8601 date-time" }] });
  return d;
}

export function auditLogRoutes(conventions: ReturnType<typeof createConventions>, db: Db, recorder: AuditRecorder) {
  return new Elysia({ prefix: "/api/v1" }).use(conventions).get(
    "/audit-logs",
    async ({ query, ...ctx }) => {
      const { organizationId } = (ctx as unknown as { principal: Principal }).principal;
      await recorder.flush(); // entries kept back by a failed write are stored first, so a reader sees them
      const limit = query.limit ?? DEFAULT_LIMIT;
      const from = instant(query.from, "from");
      const to = instant(query.to, "to");
      const after = decodeCursor(query.cursor);
      const where: SQL[] = [eq(auditLogs.organizationId, organizationId)];
      if (from) where.push(gte(auditLogs.createdAt, from));
      if (to) where.push(lte(auditLogs.createdAt, to));
      if (query.actorType) where.push(eq(auditLogs.actorType, query.actorType));
      if (query.actorId) where.push(eq(auditLogs.actorId, query.actorId));
      if (after) where.push(lt(auditLogs.id, after));
      const rows = await db.select().from(auditLogs).where(and(...where)).orderBy(desc(auditLogs.id)).limit(limit + 1);
      return page(rows, limit, (r) => r.id, toDto);
    },
    {
      scope: "audit:read",
      query: t.Object({
        from: t.Optional(t.String({ format: "date-time", description: "Inclusive lower bound on the time" })),
        to: t.Optional(t.String({ format: "date-time", description: "Inclusive upper bound on the time" })),
        actorType: t.Optional(ActorType),
        actorId: t.Optional(t.String({ maxLength: 64 })),
        ...PageQuery,
      }),
      response: { 200: Paginated(AuditLog), ...problems(400) },
      detail: { summary: "List activity logs", description: "Every state-changing request: actor, method, path, status and time; newest first.", tags: ["AuditLogs"] },
    },
  );
}
