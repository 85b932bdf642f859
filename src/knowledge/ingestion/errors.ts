// An ingestion failure that retrying cannot fix (a refused address, a 404, a file type we cannot read).
// Its message is shown to the operator as the source's errorMessage, so it says what happened and what to do.
export class IngestionError extends Error {}

/** A failure worth another attempt (a timeout, a 5xx, a dropped connection): retried with backoff. */
export class TransientIngestionError extends Error {}

/** The operator-facing reason for any failure, never a stack trace. */
export function readableReason(error: unknown): string {
  if (error instanceof IngestionError || error instanceof TransientIngestionError) return error.message;
  return "ingestion failed unexpectedly; see the server log";
}
