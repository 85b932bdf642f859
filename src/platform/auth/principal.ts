import type { Scope } from "./scopes.ts";

export type ActorType = "user" | "apiKey" | "visitor" | "system";

/** Who is calling: one organization, one actor, a set of scopes. Every query is scoped by `organizationId`. */
export interface Principal {
  organizationId: string;
  actorType: ActorType;
  actorId: string;
  scopes: ReadonlySet<Scope>;
  /** Set when the caller authenticated with a publishable key (the browser widget). */
  publishableKey?: PublishableKeyGrant;
}

/** What a publishable key allows: one agent, from listed origins, at its own rate. */
export interface PublishableKeyGrant {
  id: string;
  agentId: string;
  allowedOrigins: string[];
  rateLimitRpm: number;
  requireIdentityVerification: boolean;
}
