// An OpenAI-compatible embeddings server (OpenAI, Ollama, vLLM, llama.cpp, text-embeddings-inference):
// POST {baseUrl}/embeddings with { model, input: [...], encoding_format: "float" }, answered with
// { data: [{ index, embedding }] }. Inputs go in batches; each request has its own timeout. The vector size is
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

  const request = async (input: string[]): Promise<number[][]> => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        // Some servers refuse empty strings; a space embeds as "nothing" just the same.
        body: JSON.stringify({ model, input: input.map((t) => t || " "), encoding_format: "float" }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : String(error);
      throw new EmbeddingServerError(`embeddings server ${url}: ${reason}`);
    }
    const text = await res.text();
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
    async embed(texts) {
      const vectors: number[][] = [];
      for (let i = 0; i < texts.length; i += batchSize) vectors.push(...(await request(texts.slice(i, i + batchSize))));
      return vectors;
    },
  };
}
