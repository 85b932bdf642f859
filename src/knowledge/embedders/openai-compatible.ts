// An OpenAI-compatible embeddings server (OpenAI, Ollama, vLLM, llama.cpp, text-embeddings-inference):
// POST {baseUrl}/embeddings with { model, input: [...], encoding_format: "float" }, answered with
// { data: [{ index, embedding }] }. Inputs go in batches; each request has its own timeout (EMBEDDINGS_TIMEOUT_MS), and a
// caller's signal (a turn's retrieval deadline) can end it sooner. The vector size is
// learned from the first answer (0 until then), and vectors are normalized here since not every server does.
import { normalize } from "./hashing.ts";
import type { Embedder } from "./types.ts";

export interface OpenAiCompatibleOptions {
  baseUrl: string;
  apiKey: string | null;
  model: string;
  batchSize?: number;
  timeoutMs?: number;
}

export class EmbeddingServerError extends Error {
  override name = "EmbeddingServerError";
}

export function createOpenAiCompatibleEmbedder({ baseUrl, apiKey, model, batchSize = 64, timeoutMs = 30_000 }: OpenAiCompatibleOptions): Embedder {
  const url = `${baseUrl.replace(/\/+$/, "")}/embeddings`;
  let dimensions = 0;

  const request = async (input: string[], signal?: AbortSignal): Promise<number[][]> => {
    const deadline = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        // Some servers refuse empty strings; a space embeds as "nothing" just the same.
        body: JSON.stringify({ model, input: input.map((t) => t || " "), encoding_format: "float" }),
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      });
      // The deadline covers the body too: a server may send its headers and then stall.
      text = await res.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const reason = deadline.aborted ? `no answer within ${timeoutMs} ms` : String(error);
      throw new EmbeddingServerError(`embeddings server ${url}: ${reason}`);
    }
    if (!res.ok) throw new EmbeddingServerError(`embeddings server ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    let data: { index: number; embedding: number[] }[];
    try {
      data = (JSON.parse(text) as { data: { index: number; embedding: number[] }[] }).data;
    } catch {
      throw new EmbeddingServerError(`embeddings server ${url} answered something other than JSON`);
    }
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new EmbeddingServerError(`embeddings server ${url} returned ${Array.isArray(data) ? data.length : "no"} embeddings for ${input.length} inputs`);
    }
    const vectors = [...data].sort((a, b) => a.index - b.index).map((d) => normalize(d.embedding));
    dimensions ||= vectors[0]!.length;
    if (vectors.some((v) => v.length !== dimensions)) throw new EmbeddingServerError(`embeddings server ${url} returned vectors of another size than ${dimensions}`);
    return vectors;
  };

  return {
    model,
    get dimensions() {
      return dimensions;
    },
    async embed(texts, signal) {
      const vectors: number[][] = [];
      for (let i = 0; i < texts.length; i += batchSize) vectors.push(...(await request(texts.slice(i, i + batchSize), signal)));
      return vectors;
    },
  };
}
