// knowledge_query: look the caller's question up in the agent's knowledge sources.
import { Type, type Static } from "@sinclair/typebox";
import { RetrievalTimeoutError, type Passage, type Retriever, type RunSkill } from "./types.ts";

export const KnowledgeQueryConfig = Type.Object({
  sourceIds: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100, description: "Only these knowledge sources; default: all of the agent's" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 3, description: "Passages to return" })),
});
export type KnowledgeQueryConfig = Static<typeof KnowledgeQueryConfig>;

export function knowledgeQueryExecutor(deps: { retriever: Retriever | null }): RunSkill {
  return async (skill, args, ctx) => {
    const config = skill.executionConfig as KnowledgeQueryConfig;
    const query = typeof args.query === "string" ? args.query : Object.values(args).find((v): v is string => typeof v === "string");
    if (!deps.retriever || !query?.trim()) return { kind: "result", data: { passages: [] } };
    let passages: Passage[];
    try {
      passages = await deps.retriever.search(
        { organizationId: ctx.organizationId, agentId: ctx.agentId, query, limit: config.limit ?? 3, ...(config.sourceIds?.length ? { sourceIds: config.sourceIds } : {}) },
        { signal: ctx.signal },
      );
    } catch (error) {
      // A hung search engine is the skill's timeout, handled as the skill says; other failures are the runner's skill_failed.
      if (error instanceof RetrievalTimeoutError && !ctx.signal.aborted) return { kind: "error", code: "timeout", message: error.message };
      throw error;
    }
    return { kind: "result", data: { passages: passages.map((p) => ({ text: p.text, score: p.score, sourceId: p.sourceId, sourceUrl: p.sourceUrl ?? null })) } };
  };
}
