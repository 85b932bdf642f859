// Playbooks: a row holds the playbook and its graph (jsonb). Names are unique per agent: creating and renaming
// lock the agent row, so two concurrent requests cannot both take a name. A graph is replaced whole and only
// after validateGraph finds nothing wrong with it.
import { and, desc, eq, isNull, lt, ne, sql, type SQL } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { agents, playbooks, skills, type PlaybookGraph } from "../../platform/db/schema/index.ts";
import { decodeCursor, page } from "../../platform/http/pagination.ts";
import { notFound, Problem, validationProblem, type FieldError } from "../../platform/http/problem.ts";
import { newId } from "../../platform/ids.ts";
import { RESERVED_VARIABLES } from "../../runtime/compiled.ts";
import { checkPatterns, schemaPatterns } from "../../runtime/patterns/index.ts";
import { graphPatterns, validateGraph } from "../../runtime/playbooks/graph.ts";
import { isVariableName } from "../../runtime/playbooks/variables.ts";
import type { GraphDto, PlaybookCreateInput, PlaybookDto, PlaybookPatchInput } from "./model.ts";

type PlaybookRow = typeof playbooks.$inferSelect;

const EMPTY_SCHEMA = { type: "object", properties: {} };

function toPlaybookDto(row: PlaybookRow): PlaybookDto {
  return {
    id: row.id,
    agentId: row.agentId,
    organizationId: row.organizationId,
    flowId: row.flowId,
    name: row.name,
    description: row.description,
    inputSchema: row.inputSchema,
    outputSchema: row.outputSchema,
    isEnabled: row.isEnabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const toGraphDto = (row: PlaybookRow): GraphDto => ({ flowId: row.flowId, nodes: row.graph.nodes, connections: row.graph.connections });

/** The variables a playbook starts with: its inputSchema properties. */
const inputVariables = (inputSchema: Record<string, unknown>) => Object.keys((inputSchema.properties as Record<string, unknown> | undefined) ?? {});

export class PlaybooksService {
  constructor(private db: Db) {}

  async list(organizationId: string, agentId: string, q: { cursor?: string; limit: number }) {
    await requireAgent(this.db, organizationId, agentId);
    const after = decodeCursor(q.cursor);
    const where: SQL[] = [eq(playbooks.organizationId, organizationId), eq(playbooks.agentId, agentId)];
    if (after) where.push(lt(playbooks.id, after));
    const rows = await this.db.select().from(playbooks).where(and(...where)).orderBy(desc(playbooks.id)).limit(q.limit + 1);
    return page(rows, q.limit, (r) => r.id, toPlaybookDto);
  }

  async create(organizationId: string, agentId: string, input: PlaybookCreateInput): Promise<PlaybookDto> {
    await checkSchemas(input);
    const row = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      await requireAgent(db, organizationId, agentId, true);
      const name = input.name.trim();
      await ensureNameFree(db, agentId, name);
      const [row] = await db
        .insert(playbooks)
        .values({
          id: newId("pbk"),
          organizationId,
          agentId,
          flowId: newId("flw"),
          name,
          description: input.description.trim(),
          inputSchema: input.inputSchema ?? EMPTY_SCHEMA,
          outputSchema: input.outputSchema ?? EMPTY_SCHEMA,
          isEnabled: input.isEnabled ?? true,
          graph: { nodes: [], connections: [] },
        })
        .returning();
      return row!;
    });
    return toPlaybookDto(row);
  }

  async get(organizationId: string, agentId: string, id: string): Promise<PlaybookDto> {
    await requireAgent(this.db, organizationId, agentId);
    return toPlaybookDto(await this.find(this.db, organizationId, agentId, id));
  }

  async update(organizationId: string, agentId: string, id: string, patch: PlaybookPatchInput): Promise<PlaybookDto> {
    await checkSchemas(patch);
    const row = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      await requireAgent(db, organizationId, agentId, true);
      const current = await this.find(db, organizationId, agentId, id);
      const name = patch.name?.trim();
      if (name !== undefined && name !== current.name) await ensureNameFree(db, agentId, name, id);
      const [row] = await db
        .update(playbooks)
        .set({
          name: name ?? current.name,
          description: patch.description?.trim() ?? current.description,
          inputSchema: patch.inputSchema ?? current.inputSchema,
          outputSchema: patch.outputSchema ?? current.outputSchema,
          isEnabled: patch.isEnabled ?? current.isEnabled,
          updatedAt: sql`now()`,
        })
        .where(eq(playbooks.id, id))
        .returning();
      return row!;
    });
    return toPlaybookDto(row);
  }

  /** Deletes a playbook no skill starts: one a `playbook` skill points at is a 409 naming the skills. */
  async remove(organizationId: string, agentId: string, id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await requireAgent(tx, organizationId, agentId, true);
      const starters = await tx
        .select({ name: skills.name })
        .from(skills)
        .where(and(eq(skills.agentId, agentId), eq(skills.organizationId, organizationId), eq(skills.skillType, "playbook"), sql`${skills.executionConfig} ->> 'playbookId' = ${id}`));
      if (starters.length) {
        const names = starters.map((s) => `"${s.name}"`).join(", ");
        throw new Problem(409, "playbook_in_use", `skill ${names} ${starters.length === 1 ? "starts" : "start"} this playbook: delete or repoint ${starters.length === 1 ? "it" : "them"} first`);
      }
      const deleted = await tx
        .delete(playbooks)
        .where(and(eq(playbooks.id, id), eq(playbooks.organizationId, organizationId), eq(playbooks.agentId, agentId)))
        .returning({ id: playbooks.id });
      if (!deleted.length) throw notFound("playbook", id);
    });
  }

  async getGraph(organizationId: string, agentId: string, id: string): Promise<GraphDto> {
    await requireAgent(this.db, organizationId, agentId);
    return toGraphDto(await this.find(this.db, organizationId, agentId, id));
  }

  async replaceGraph(organizationId: string, agentId: string, id: string, graph: GraphDto): Promise<GraphDto> {
    // Outside the transaction: the backtracking analysis can take seconds, and the transaction holds the agent's lock.
    const patternErrors = await checkPatterns(graphPatterns(graph));
    const row = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      // The agent row lock orders this against a skill being deleted while the graph starts calling it.
      await requireAgent(db, organizationId, agentId, true);
      const current = await this.find(db, organizationId, agentId, id, true);
      if (graph.flowId !== current.flowId) {
        throw new Problem(409, "flow_mismatch", `this playbook's graph is ${current.flowId}, not ${graph.flowId}: read the graph again and send its flowId`, {
          extensions: { flowId: current.flowId },
        });
      }
      const stored: PlaybookGraph = {
        nodes: graph.nodes.map((n) => ({ id: n.id, type: n.type, position: n.position ?? { x: 0, y: 0 }, data: n.data })),
        connections: graph.connections.map((c) => ({ id: c.id, source: c.source, target: c.target, sourceHandle: c.sourceHandle ?? null, targetHandle: c.targetHandle ?? null })),
      };
      const skillRows = await db.select({ id: skills.id }).from(skills).where(and(eq(skills.organizationId, organizationId), eq(skills.agentId, agentId)));
      const errors = validateGraph(stored, { skillIds: new Set(skillRows.map((s) => s.id)), inputVariables: inputVariables(current.inputSchema) });
      errors.push(...patternErrors.filter((p) => !errors.some((e) => e.field === p.field)));
      if (errors.length) throw validationProblem(errors, `the graph has ${errors.length} problem${errors.length === 1 ? "" : "s"}: ${errors[0]!.field} ${errors[0]!.message}`);
      const [row] = await db.update(playbooks).set({ graph: stored, updatedAt: sql`now()` }).where(eq(playbooks.id, id)).returning();
      return row!;
    });
    return toGraphDto(row);
  }

  private async find(db: Db, organizationId: string, agentId: string, id: string, forUpdate = false): Promise<PlaybookRow> {
    const query = db
      .select()
      .from(playbooks)
      .where(and(eq(playbooks.id, id), eq(playbooks.organizationId, organizationId), eq(playbooks.agentId, agentId)))
      .limit(1);
    const [row] = forUpdate ? await query.for("update") : await query;
    if (!row) throw notFound("playbook", id);
    return row;
  }
}

/** 404 agent_not_found unless the agent exists (not deleted) in the organization; `lock` serializes writers per agent. */
export async function requireAgent(db: Db, organizationId: string, agentId: string, lock = false): Promise<void> {
  const query = db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId), isNull(agents.deletedAt)))
    .limit(1);
  const [row] = lock ? await query.for("update") : await query;
  if (!row) throw notFound("agent", agentId);
}

async function ensureNameFree(db: Db, agentId: string, name: string, exceptId?: string) {
  const where: SQL[] = [eq(playbooks.agentId, agentId), sql`lower(${playbooks.name}) = lower(${name})`];
  if (exceptId) where.push(ne(playbooks.id, exceptId));
  const [clash] = await db.select({ id: playbooks.id }).from(playbooks).where(and(...where)).limit(1);
  if (clash) {
    throw new Problem(409, "duplicate_name", `this agent already has a playbook named ${name}`, {
      errors: [{ field: "name", message: "is already used by another playbook of this agent" }],
      extensions: { playbookId: clash.id },
    });
  }
}

/**
 * inputSchema properties become variables, so their names follow the variable rules; a `pattern` in either schema is
 * held to the rules of every pattern the API accepts (clients and models run them).
 */
async function checkSchemas({ inputSchema, outputSchema }: { inputSchema?: Record<string, unknown>; outputSchema?: Record<string, unknown> }) {
  const errors: FieldError[] = [];
  for (const name of inputSchema ? inputVariables(inputSchema) : []) {
    const field = `inputSchema.properties.${name}`;
    if (!isVariableName(name)) errors.push({ field, message: "is not a variable name (letters, digits and _, not starting with a digit)" });
    else if ((RESERVED_VARIABLES as readonly string[]).includes(name)) errors.push({ field, message: `${name} is reserved: the runtime sets it` });
  }
  errors.push(...(await checkPatterns([...schemaPatterns(inputSchema, "inputSchema"), ...schemaPatterns(outputSchema, "outputSchema")])));
  if (errors.length) throw validationProblem(errors);
}
