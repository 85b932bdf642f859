import { boolean, index, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { agents } from "./agents.ts";
import { organizations } from "./organizations.ts";

export interface PlaybookGraph {
  nodes: { id: string; type: string; position: { x: number; y: number }; data: Record<string, unknown> }[];
  connections: { id: string; source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null }[];
}

/** A scripted procedure: a node graph the runtime walks across turns. */
export const playbooks = pgTable(
  "playbooks",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    flowId: text("flow_id").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    inputSchema: jsonb("input_schema").$type<Record<string, unknown>>().notNull(),
    outputSchema: jsonb("output_schema").$type<Record<string, unknown>>().notNull(),
    isEnabled: boolean("is_enabled").notNull().default(true),
    graph: jsonb("graph").$type<PlaybookGraph>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("playbooks_agent_idx").on(t.agentId, t.id)],
);

/** Notes and type hints on interaction variables; the registry itself is derived at read time. */
export const variableAnnotations = pgTable(
  "variable_annotations",
  {
    organizationId: text("organization_id").notNull().references(() => organizations.id),
    agentId: text("agent_id").notNull().references(() => agents.id),
    name: text("name").notNull(),
    note: text("note"),
    type: text("type"),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.name] })],
);
