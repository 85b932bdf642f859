// RFC 9457 problem details. Code throws a `Problem`; one handler (errors.ts) renders it as application/problem+json.
import { Type } from "@sinclair/typebox";
import { t, type Static } from "elysia";

export interface FieldError {
  field: string;
  message: string;
}

export const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  402: "Payment required",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict",
  410: "Gone",
  413: "Payload too large",
  415: "Unsupported media type",
  422: "Unprocessable content",
  428: "Precondition required",
  429: "Too many requests",
  500: "Internal server error",
  503: "Service unavailable",
};

export class Problem extends Error {
  readonly errors?: FieldError[];
  readonly extensions?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    more: { errors?: FieldError[]; extensions?: Record<string, unknown>; headers?: Record<string, string>; title?: string } = {},
  ) {
    super(detail);
    this.errors = more.errors;
    this.extensions = more.extensions;
    this.headers = more.headers;
    this.title = more.title ?? TITLES[status] ?? "Error";
  }
  readonly title: string;

  body(instance: string, requestId?: string) {
    return {
      type: `https://docs.flowyte.com/errors/${this.code}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      instance,
      code: this.code,
      ...(this.errors?.length ? { errors: this.errors } : {}),
      ...(requestId ? { requestId } : {}),
      ...this.extensions,
    };
  }
}

export const notFound = (what: string, id?: string) =>
  new Problem(404, `${what.replace(/ /g, "_")}_not_found`, id ? `${what} ${id} was not found` : `${what} was not found`);

export const validationProblem = (errors: FieldError[], detail?: string) =>
  new Problem(400, "validation_error", detail ?? errors.map((e) => `${e.field} ${e.message}`).join("; "), { errors, title: "Validation failure" });

export const ProblemSchema = t.Object(
  {
    type: t.String({ format: "uri", description: "https://docs.flowyte.com/errors/<code>" }),
    title: t.String(),
    status: Type.Integer(),
    detail: t.String(),
    instance: t.String({ description: "The request path" }),
    code: t.String({ description: "Stable machine-readable error code" }),
    errors: t.Optional(t.Array(t.Object({ field: t.String(), message: t.String() }), { description: "One entry per invalid field" })),
    requestId: t.Optional(t.String()),
  },
  { $id: "ProblemDetails", title: "ProblemDetails", additionalProperties: true },
);
export type ProblemBody = Static<typeof ProblemSchema>;
