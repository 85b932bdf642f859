import type { Scope } from "./scopes.ts";

export type ActorType = "user" | "apiKey" | "visitor" | "system";

/** Who is calling: one organization, one actor, a set of scopes. Every query is scoped by `organizationId`. */
export interface Principal {
  organizationId: string;
  actorType: ActorType;
  actorId: string;
  scopes: ReadonlySet<Scope>;
}
