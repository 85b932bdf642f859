// GET /models, OpenAI-compatible: the models a key can name in /chat/completions and /responses are the
// organization's agents that serve live traffic (published and not paused), so `openai.models.list()` shows them.
import { and, asc, eq, isNotNull, isNull, type SQL } from "drizzle-orm";
import type { Db } from "../../platform/db/index.ts";
import { agents } from "../../platform/db/schema/index.ts";
import { openAiProblem } from "./completions.ts";

const live = (organizationId: string): SQL[] => [eq(agents.organizationId, organizationId), isNull(agents.deletedAt), isNotNull(agents.publishedVersionId), eq(agents.isActive, true)];

const toModel = (row: { id: string; organizationId: string; createdAt: Date }) => ({
  id: row.id,
  object: "model" as const,
  created: Math.floor(row.createdAt.getTime() / 1000),
  owned_by: row.organizationId,
});

const COLUMNS = { id: agents.id, organizationId: agents.organizationId, createdAt: agents.createdAt };

export class ModelsService {
  constructor(private db: Db) {}

  async list(organizationId: string) {
    const rows = await this.db.select(COLUMNS).from(agents).where(and(...live(organizationId))).orderBy(asc(agents.id));
    return { object: "list" as const, data: rows.map(toModel) };
  }

  /** One live agent as a model; anything else (unknown, draft only, paused, deleted) is OpenAI's 404 model_not_found. */
  async get(organizationId: string, id: string) {
    const [row] = await this.db.select(COLUMNS).from(agents).where(and(eq(agents.id, id), ...live(organizationId))).limit(1);
    if (!row) throw openAiProblem(404, "model_not_found", `the model ${id} does not exist or does not serve live traffic (not published, or paused)`, "model");
    return toModel(row);
  }
}
