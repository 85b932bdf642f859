// A pool of connections to one database, as both dialects offer it: a transaction (read-only unless asked) in
// which every statement has a timeout no later than the caller's deadline, and an abort that stops the statement.
import { PluginError } from "../../src/api/integrations/contract.ts";
import type { Dialect } from "./identifiers.ts";
import type { SqlValue } from "./values.ts";

export interface RunResult {
  rows: Record<string, unknown>[];
  affected: number;
  insertId?: number | string;
}

export type Run = (statement: string, params?: readonly SqlValue[]) => Promise<RunResult>;

export interface TransactionOptions {
  write: boolean;
  deadline: number;
  signal: AbortSignal;
}

export interface SqlSession {
  dialect: Dialect;
  transaction<T>(options: TransactionOptions, work: (run: Run) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function timedOut(): PluginError {
  return new PluginError("timeout", "the database did not answer before the deadline");
}

/** Milliseconds left before the deadline, whole and positive; none left is a timeout. */
export function remainingMs(deadline: number): number {
  const ms = Math.floor(deadline - Date.now());
  if (ms <= 0) throw timedOut();
  return ms;
}

/** `work`, unless the signal fires first: then `stop` is told (cancel the statement, drop the connection) and it is a timeout. */
export async function abortable<T>(signal: AbortSignal, work: Promise<T>, stop: () => void): Promise<T> {
  work.catch(() => {});
  if (signal.aborted) {
    stop();
    throw timedOut();
  }
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      stop();
      reject(timedOut());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
