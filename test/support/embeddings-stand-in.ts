// An embeddings server following the OpenAI API (POST {base}/embeddings with { model, input: string[] } →
// { object: "list", data: [{ object: "embedding", index, embedding }], model }), as Ollama, vLLM or
// text-embeddings-inference answer it. Its vectors come from a small table of concepts, so unlike the hashing
// embedder it knows that differently worded texts can mean the same ("buy a voucher" ≈ "sell gift cards").

/** Words of one concept share an axis; every other word gets an axis of its own among the rest. */
const CONCEPTS: string[][] = [
  ["buy", "sell", "sells", "purchase", "order", "get"],
  ["gift", "card", "cards", "voucher", "vouchers", "giftcard", "giftcards"],
  ["park", "parking", "car", "garage"],
  ["return", "returns", "refund", "refunds", "back", "exchange"],
  ["open", "opening", "hours", "close", "closing", "time"],
  ["deliver", "delivery", "shipping", "ship", "post"],
];
const STOP_WORDS = new Set("a an the and or do does you your we our i me my can could is are be it of to in on at for with there what how when where any please".split(" "));
export const CONCEPT_DIMENSIONS = 24;

export function conceptVector(text: string): number[] {
  const v = new Array<number>(CONCEPT_DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    if (STOP_WORDS.has(word)) continue;
    const concept = CONCEPTS.findIndex((c) => c.includes(word));
    let axis = concept;
    if (concept < 0) {
      let h = 7;
      for (const ch of word) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
      axis = CONCEPTS.length + (h % (CONCEPT_DIMENSIONS - CONCEPTS.length));
    }
    // Words outside the concepts weigh less: meaning carries the match, other words only tell texts apart.
    v[axis]! += concept < 0 ? 0.3 : 1;
  }
  const norm = Math.hypot(...v);
  return norm ? v.map((x) => x / norm) : v;
}

export interface EmbeddingsStandIn {
  /** The API root, as EMBEDDINGS_BASE_URL takes it. */
  baseUrl: string;
  /** Every input answered, in order. */
  embedded: string[];
  /** When it returns true for a request's inputs, the server answers 503 as a model server that is down does. */
  failWhen: (inputs: string[]) => boolean;
  stop(): void;
}

export function startEmbeddingsStandIn(): EmbeddingsStandIn {
  const standIn: EmbeddingsStandIn = {
    baseUrl: "",
    embedded: [],
    failWhen: () => false,
    stop: () => server.stop(true),
  };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/v1/embeddings") return Response.json({ error: { message: "not found", type: "invalid_request_error" } }, { status: 404 });
      const body = (await req.json()) as { model: string; input: string[] | string };
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      if (standIn.failWhen(inputs)) return Response.json({ error: { message: "model is loading", type: "server_error" } }, { status: 503 });
      standIn.embedded.push(...inputs);
      return Response.json({
        object: "list",
        data: inputs.map((text, index) => ({ object: "embedding", index, embedding: conceptVector(text) })),
        model: body.model,
        usage: { prompt_tokens: 0, total_tokens: 0 },
      });
    },
  });
  standIn.baseUrl = `http://127.0.0.1:${server.port}/v1`;
  return standIn;
}
