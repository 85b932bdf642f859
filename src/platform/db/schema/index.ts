export * from "./organizations.ts";
export * from "./api-keys.ts";
export * from "./agents.ts";
export * from "./audit-logs.ts";
export * from "./idempotency-keys.ts";
