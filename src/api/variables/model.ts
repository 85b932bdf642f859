// TypeBox shapes of the Variables tag: the merged registry entry and the annotation bodies.
import { t, type Static } from "elysia";
import { VARIABLE_NAME } from "../../runtime/playbooks/variables.ts";

export const VariableName = t.String({ pattern: VARIABLE_NAME, maxLength: 64, description: "Case-sensitive: letters, digits and _, not starting with a digit" });
const Note = t.Union([t.String({ maxLength: 2000 }), t.Null()], { description: "Free text for people" });
const TypeHint = t.Union([t.String({ minLength: 1, maxLength: 64 }), t.Null()], { description: "A type hint, e.g. string, date, phone; never enforced" });

export const VariableDeclare = t.Object({ name: VariableName, note: t.Optional(Note), type: t.Optional(TypeHint) });
export const VariablePatch = t.Object({ note: t.Optional(Note), type: t.Optional(TypeHint) }, { description: "Only the fields sent change" });
export type VariableDeclareInput = Static<typeof VariableDeclare>;
export type VariablePatchInput = Static<typeof VariablePatch>;

const Reference = t.Object({
  kind: t.Union([t.Literal("playbook"), t.Literal("skill")]),
  id: t.String(),
  name: t.String(),
});
export type VariableReference = Static<typeof Reference>;

export const InteractionVariable = t.Object({
  name: t.String(),
  source: t.Union([t.Literal("derived"), t.Literal("annotated"), t.Literal("reserved")], {
    description: "reserved = set by the runtime; derived = found in an enabled playbook or skill; annotated = only declared here",
  }),
  deletable: t.Boolean({ description: "true when the name exists only as an annotation" }),
  producedBy: t.Array(Reference, { description: "Playbooks and skills that set it" }),
  consumedBy: t.Array(Reference, { description: "Playbooks and skills that read it" }),
  note: t.Union([t.String(), t.Null()]),
  type: t.Union([t.String(), t.Null()]),
  updatedAt: t.Union([t.String({ format: "date-time" }), t.Null()], { description: "When the annotation last changed; null without one" }),
}, { $id: "InteractionVariable" });
export type InteractionVariableDto = Static<typeof InteractionVariable>;
