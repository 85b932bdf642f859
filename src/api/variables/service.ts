// The interaction-variable registry: derived at read time from the agent's enabled playbooks and skills, merged
// with a thin annotation overlay (notes, type hints, manual declarations). It only observes: nothing here blocks
// saving, publishing or running anything.
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { playbooks, skills, variableAnnotations } from "../../platform/db/schema/index.ts";
import { Problem } from "../../platform/http/problem.ts";
import { RESERVED_VARIABLES, type CompiledSkill } from "../../runtime/compiled.ts";
import { playbookVariables, skillVariables, type VariableFlow } from "../../runtime/playbooks/variables.ts";
import { requireAgent } from "../playbooks/service.ts";
import type { InteractionVariableDto, VariableDeclareInput, VariablePatchInput, VariableReference } from "./model.ts";

type AnnotationRow = typeof variableAnnotations.$inferSelect;
interface Derived {
  producedBy: VariableReference[];
  consumedBy: VariableReference[];
}

const RESERVED: ReadonlySet<string> = new Set(RESERVED_VARIABLES);

export class VariablesService {
  constructor(private db: Db) {}

  async list(organizationId: string, agentId: string): Promise<InteractionVariableDto[]> {
    await requireAgent(this.db, organizationId, agentId);
    const [derived, annotations] = await Promise.all([this.derive(organizationId, agentId), this.annotations(organizationId, agentId)]);
    const names = new Set([...RESERVED, ...derived.keys(), ...annotations.keys()]);
    return [...names].sort(byCodePoint).map((name) => merge(name, derived.get(name), annotations.get(name)));
  }

  /** Upsert an annotation; `created` is true only for a name that did not exist before in any form. */
  async declare(organizationId: string, agentId: string, input: VariableDeclareInput): Promise<{ variable: InteractionVariableDto; created: boolean }> {
    if (RESERVED.has(input.name)) {
      throw new Problem(400, "reserved_variable_name", `${input.name} is reserved: the runtime always sets it, so it cannot be declared`, {
        errors: [{ field: "name", message: `is reserved (${RESERVED_VARIABLES.join(", ")})` }],
      });
    }
    await requireAgent(this.db, organizationId, agentId);
    const derived = await this.derive(organizationId, agentId);
    const existing = await this.annotation(organizationId, agentId, input.name);
    const [row] = await this.db
      .insert(variableAnnotations)
      .values({ organizationId, agentId, name: input.name, note: input.note ?? null, type: input.type ?? null })
      .onConflictDoUpdate({ target: [variableAnnotations.agentId, variableAnnotations.name], set: { ...sentFields(input), updatedAt: sql`now()` } })
      .returning();
    return { variable: merge(input.name, derived.get(input.name), row), created: !existing && !derived.has(input.name) };
  }

  async update(organizationId: string, agentId: string, name: string, patch: VariablePatchInput): Promise<InteractionVariableDto> {
    await requireAgent(this.db, organizationId, agentId);
    const [row] = await this.db
      .update(variableAnnotations)
      .set({ ...sentFields(patch), updatedAt: sql`now()` })
      .where(annotationIs(organizationId, agentId, name))
      .returning();
    if (!row) throw new Problem(404, "annotation_not_found", `${name} has no annotation on this agent; declare it with POST /agents/${agentId}/variables`);
    return merge(name, (await this.derive(organizationId, agentId)).get(name), row);
  }

  /** Removes only the annotation; a name still produced or used stays in the registry as derived. */
  async remove(organizationId: string, agentId: string, name: string): Promise<void> {
    await requireAgent(this.db, organizationId, agentId);
    await this.db.delete(variableAnnotations).where(annotationIs(organizationId, agentId, name));
  }

  private async derive(organizationId: string, agentId: string): Promise<Map<string, Derived>> {
    const owner = (table: typeof playbooks | typeof skills) => and(eq(table.organizationId, organizationId), eq(table.agentId, agentId), eq(table.isEnabled, true));
    const [playbookRows, skillRows] = await Promise.all([
      this.db.select({ id: playbooks.id, name: playbooks.name, graph: playbooks.graph }).from(playbooks).where(owner(playbooks)),
      this.db
        .select({ id: skills.id, name: skills.name, executionConfig: skills.executionConfig, parametersSchema: skills.parametersSchema })
        .from(skills)
        .where(owner(skills)),
    ]);
    const derived = new Map<string, Derived>();
    const record = (ref: VariableReference, flow: VariableFlow) => {
      for (const [names, key] of [[flow.produced, "producedBy"], [flow.consumed, "consumedBy"]] as const) {
        for (const name of names) {
          const entry = derived.get(name) ?? { producedBy: [], consumedBy: [] };
          entry[key].push(ref);
          derived.set(name, entry);
        }
      }
    };
    for (const p of playbookRows) record({ kind: "playbook", id: p.id, name: p.name }, playbookVariables(p.graph));
    for (const s of skillRows) {
      record({ kind: "skill", id: s.id, name: s.name }, skillVariables({ executionConfig: s.executionConfig, parametersSchema: s.parametersSchema as CompiledSkill["parametersSchema"] }));
    }
    return derived;
  }

  private async annotations(organizationId: string, agentId: string): Promise<Map<string, AnnotationRow>> {
    const rows = await this.db
      .select()
      .from(variableAnnotations)
      .where(and(eq(variableAnnotations.organizationId, organizationId), eq(variableAnnotations.agentId, agentId)));
    return new Map(rows.map((r) => [r.name, r]));
  }

  private async annotation(organizationId: string, agentId: string, name: string): Promise<AnnotationRow | undefined> {
    const [row] = await this.db.select().from(variableAnnotations).where(annotationIs(organizationId, agentId, name)).limit(1);
    return row;
  }
}

function merge(name: string, derived: Derived | undefined, annotation: AnnotationRow | undefined): InteractionVariableDto {
  const source = RESERVED.has(name) ? "reserved" : derived ? "derived" : "annotated";
  return {
    name,
    source,
    deletable: source === "annotated",
    producedBy: sortRefs(derived?.producedBy ?? []),
    consumedBy: sortRefs(derived?.consumedBy ?? []),
    note: annotation?.note ?? null,
    type: annotation?.type ?? null,
    updatedAt: annotation?.updatedAt.toISOString() ?? null,
  };
}

const annotationIs = (organizationId: string, agentId: string, name: string) =>
  and(eq(variableAnnotations.organizationId, organizationId), eq(variableAnnotations.agentId, agentId), eq(variableAnnotations.name, name));

function sentFields(input: VariablePatchInput): Partial<Pick<AnnotationRow, "note" | "type">> {
  return { ...(input.note !== undefined ? { note: input.note } : {}), ...(input.type !== undefined ? { type: input.type } : {}) };
}

// Names are case-sensitive identifiers: order them by code point, the same on every machine.
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sortRefs = (refs: VariableReference[]) => [...refs].sort((a, b) => byCodePoint(a.kind, b.kind) || byCodePoint(a.name, b.name) || byCodePoint(a.id, b.id));
