// The API's regular expressions: every pattern a client sends (a collect step's validation.pattern, a JSON Schema's
// `pattern`) must run in the linear-time engine and must not backtrack catastrophically in a backtracking one;
// caller text is only ever matched by the linear-time engine.
import type { FieldError } from "../../platform/http/problem.ts";
import { ANALYSIS_TIMEOUT_MS, analyseBacktracking } from "./backtracking.ts";

/**
 * What the analyses of one request may take together (queueing included): a graph holds up to 500 steps, and one
 * request must not keep the shared analysis worker from every other organization's saves for long.
 */
export const REQUEST_ANALYSIS_BUDGET_MS = 15_000;
import { compileLinear, type PatternFlags } from "./linear.ts";

export { compileLinear, MAX_PROGRAM_SIZE, type LinearPattern, type PatternFlags } from "./linear.ts";

export interface PatternAt {
  /** The JSON path of the pattern in the request, e.g. nodes[2].data.validation.pattern. */
  field: string;
  source: string;
  flags?: PatternFlags;
}

/** Why a pattern cannot be accepted, or null. Pure and quick: what a stored graph can be re-checked with. */
export function patternProblem(source: string, flags: PatternFlags = ""): string | null {
  const compiled = compileLinear(source, flags);
  return compiled.ok ? null : compiled.reason;
}

/** Every pattern that cannot be accepted, each named by its field; the backtracking analysis runs off the main thread. */
export async function checkPatterns(patterns: PatternAt[], budgetMs = REQUEST_ANALYSIS_BUDGET_MS): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const deadline = Date.now() + budgetMs;
  for (const { field, source, flags = "" } of patterns) {
    const problem = patternProblem(source, flags);
    if (problem) {
      errors.push({ field, message: problem });
      continue;
    }
    const verdict = await analyseBacktracking(source, flags, deadline);
    if (verdict.status === "vulnerable") {
      errors.push({
        field,
        message: `backtracks catastrophically (${verdict.complexity} time) on input such as ${verdict.attack}: write it so each repetition and alternative can match a text in only one way, e.g. (a+)+ as a+`,
      });
    } else if (verdict.status === "unknown" && verdict.error === "out of time") {
      errors.push({ field, message: `was not checked for catastrophic backtracking: this request's patterns took more than ${budgetMs / 1000} s to analyse; simplify them or try again` });
    } else if (verdict.status === "unknown") {
      errors.push({ field, message: `could not be shown free of catastrophic backtracking within ${ANALYSIS_TIMEOUT_MS / 1000} s (${verdict.error}): simplify it` });
    }
  }
  return errors;
}

/**
 * The `pattern` keywords of a JSON Schema, with their paths under `at`. Values of enum, const, default and examples
 * are data, not schemas, and are not searched.
 */
export function schemaPatterns(schema: unknown, at: string): PatternAt[] {
  if (!schema || typeof schema !== "object") return [];
  if (Array.isArray(schema)) return schema.flatMap((item, i) => schemaPatterns(item, `${at}[${i}]`));
  return Object.entries(schema).flatMap(([key, value]): PatternAt[] => {
    const field = at ? `${at}.${key}` : key;
    if (key === "pattern" && typeof value === "string") return [{ field, source: value, flags: "u" }];
    if (key === "patternProperties" && value && typeof value === "object") {
      return Object.entries(value).flatMap(([source, sub]) => [{ field, source, flags: "u" as const }, ...schemaPatterns(sub, `${field}.${source}`)]);
    }
    if (["enum", "const", "default", "examples"].includes(key)) return [];
    return schemaPatterns(value, field);
  });
}
