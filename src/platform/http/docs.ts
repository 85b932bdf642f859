// Error responses every route documents next to its success schema, so the OpenAPI document lists them.
import { ProblemSchema } from "./problem.ts";

const STANDARD = [401, 403, 429] as const;

/** Problem responses for the given statuses, plus the ones every authenticated route can give (401, 403, 429). */
export function problems(...statuses: number[]) {
  return Object.fromEntries([...STANDARD, ...statuses].sort().map((s) => [s, ProblemSchema])) as Record<number, typeof ProblemSchema>;
}
