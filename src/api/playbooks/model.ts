// TypeBox shapes of the Playbooks tag: what clients send and what they get back, shared by routes and the OpenAPI document.
import { t, type Static } from "elysia";
import { NODE_TYPES } from "../../runtime/playbooks/graph.ts";

const Name = t.String({ minLength: 1, maxLength: 100, pattern: "\\S", description: "Unique within the agent (case-insensitive)" });
const Description = t.String({ minLength: 1, maxLength: 2000, pattern: "\\S", description: "When to run it: what the runtime matches a caller's request against" });

const JsonSchemaObject = (description: string) =>
  t.Object(
    {
      type: t.Optional(t.Literal("object")),
      properties: t.Optional(t.Record(t.String(), t.Record(t.String(), t.Unknown()), { description: "Property name → JSON Schema" })),
      required: t.Optional(t.Array(t.String(), { maxItems: 100 })),
    },
    { additionalProperties: true, description: `A JSON Schema object. ${description}` },
  );

const editable = {
  inputSchema: t.Optional(JsonSchemaObject("What the playbook starts with; each property is a variable set before the start node.")),
  outputSchema: t.Optional(JsonSchemaObject("What the playbook hands back when it ends.")),
  isEnabled: t.Optional(t.Boolean({ description: "Disabled playbooks are never started; defaults to true" })),
};

export const PlaybookCreate = t.Object({ name: Name, description: Description, ...editable }, { $id: "PlaybookCreate" });
export const PlaybookPatch = t.Object({ name: t.Optional(Name), description: t.Optional(Description), ...editable }, { $id: "PlaybookPatch", description: "Only the fields sent change" });
export type PlaybookCreateInput = Static<typeof PlaybookCreate>;
export type PlaybookPatchInput = Static<typeof PlaybookPatch>;

export const Playbook = t.Object({
  id: t.String(),
  agentId: t.String(),
  organizationId: t.String(),
  flowId: t.String({ description: "The graph's id; send it back when replacing the graph" }),
  name: t.String(),
  description: t.String(),
  inputSchema: t.Record(t.String(), t.Unknown()),
  outputSchema: t.Record(t.String(), t.Unknown()),
  isEnabled: t.Boolean(),
  createdAt: t.String({ format: "date-time" }),
  updatedAt: t.String({ format: "date-time" }),
}, { $id: "Playbook" });
export type PlaybookDto = Static<typeof Playbook>;

const Id = t.String({ minLength: 1, maxLength: 64 });

export const GraphNode = t.Object({
  id: Id,
  type: t.String({ maxLength: 32, description: `One of ${NODE_TYPES.join(", ")}` }),
  position: t.Optional(t.Object({ x: t.Number(), y: t.Number() }, { description: "Where the editor draws it" })),
  data: t.Record(t.String(), t.Unknown(), { description: "Settings of the node type (see the Playbooks section of the API conventions)" }),
});

export const GraphConnection = t.Object({
  id: Id,
  source: Id,
  target: Id,
  sourceHandle: t.Optional(t.Union([t.String({ maxLength: 64 }), t.Null()], { description: "The source's exit: yes/no, a branch handle, success/error; empty for the unnamed exit" })),
  targetHandle: t.Optional(t.Union([t.String({ maxLength: 64 }), t.Null()])),
});

export const Graph = t.Object({
  flowId: t.String({ minLength: 1, maxLength: 64 }),
  nodes: t.Array(GraphNode, { maxItems: 500 }),
  connections: t.Array(GraphConnection, { maxItems: 2000 }),
}, { $id: "PlaybookGraph" });
export type GraphDto = Static<typeof Graph>;
