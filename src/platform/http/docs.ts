// Error responses every route documents next to its success schema, so the OpenAPI document lists them.
import { ProblemSchema } from "./problem.ts";

const STANDARD = [401, 403, 429] as const;

/** Problem responses for the given statuses, plus the ones every authenticated route can give (401, 403, 429). */
export function problems(...statuses: number[]) {
  return Object.fromEntries([...STANDARD, ...statuses].sort().map((s) => [s, ProblemSchema])) as Record<number, typeof ProblemSchema>;
}

/** Where an operation's `detail` names the events of its streamed (text/event-stream) answer; see completeDocument. */
export const EVENT_STREAM_MARK = "x-event-stream";

/**
 * For a route that also answers text/event-stream (a `stream: true` body): spread into its `detail`. The generator
 * documents only the JSON answer, so completeDocument adds this media type to the 200 response.
 */
export function eventStream(event: object, description: string) {
  return { [EVENT_STREAM_MARK]: { event, description } };
}
