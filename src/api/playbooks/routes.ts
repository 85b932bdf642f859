import { Elysia } from "elysia";
import type { ApiContext } from "../context.ts";

export function playbookRoutes(ctx: ApiContext) {
  return new Elysia({ prefix: "/api/v1" }).use(ctx.conventions);
}
