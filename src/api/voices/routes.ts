// The Voices tag: the catalog of installed voices (Piper, espeak-ng, the speech server's), its facet
// counts and a description search. Flat lists, not paginated, as the API defines them.
import { Elysia, t } from "elysia";
import { problems } from "../../platform/http/docs.ts";
import { Envelope, ok } from "../../platform/http/envelope.ts";
import type { VoiceFilter } from "../../../voice/speech/index.ts";
import type { ApiContext } from "../context.ts";
import { Voice, VoiceFacets, VoiceFilterQuery, VoiceSearchBody, VoiceSearchResult } from "./model.ts";

const tags = ["Voices"];
const filterDoc = "Filters (AND-combined): language, accent, region, gender, age, category, tone (every one given), useCase, q, tier.";

/** `tone=calm&tone=warm` and `tone=calm,warm` mean the same. */
function filterFrom(query: VoiceFilter): VoiceFilter {
  return { ...query, tone: query.tone?.flatMap((tone) => tone.split(",")).map((tone) => tone.trim()).filter(Boolean) };
}

export function voiceRoutes(ctx: ApiContext) {
  const { catalog, ready } = ctx.speech;
  return new Elysia({ prefix: "/api/v1" })
    .use(ctx.conventions)
    .get(
      "/voices",
      async ({ query }) => {
        await ready;
        return ok(catalog.list(filterFrom(query)));
      },
      {
        scope: "agents:read",
        query: VoiceFilterQuery,
        response: { 200: Envelope(t.Array(Voice)), ...problems(400) },
        detail: { summary: "List voices", description: `Every voice installed on this appliance, as one flat list. ${filterDoc}`, tags },
      },
    )
    .get(
      "/voices/facets",
      async ({ query }) => {
        await ready;
        return ok(catalog.facets(filterFrom(query)));
      },
      {
        scope: "agents:read",
        query: VoiceFilterQuery,
        response: { 200: Envelope(VoiceFacets), ...problems(400) },
        detail: { summary: "Count voices by facet", description: `Value → count for each facet, over the voices GET /voices returns for the same filters. ${filterDoc}`, tags },
      },
    )
    .post(
      "/voices/search",
      async ({ body }) => {
        await ready;
        return ok(catalog.search(body.query, body.language, body.limit ?? 5));
      },
      {
        scope: "agents:read",
        body: VoiceSearchBody,
        parse: "json",
        response: { 200: Envelope(VoiceSearchResult), ...problems(400, 413, 415) },
        detail: {
          summary: "Search voices by description",
          description: "A ranked shortlist for a description: words naming a facet value (gender, age, accent, tone, use case, language, tier) weigh most, other words count where the voice's description or tags contain them. language scopes the list.",
          tags,
        },
      },
    );
}
