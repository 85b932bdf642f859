// Meilisearch stand-in: an HTTP server on 127.0.0.1 following Meilisearch's published HTTP API (v1.6–1.x) for the
// endpoints the knowledge engine uses — GET /health, GET /version, PATCH /experimental-features, GET/POST /indexes,
// GET/DELETE /indexes/{uid}, GET /indexes/{uid}/stats, GET/PATCH /indexes/{uid}/settings, POST and DELETE
// /indexes/{uid}/documents, POST /indexes/{uid}/documents/delete, GET /tasks/{uid} and POST /multi-search — with the same status codes, error objects ({ message, code, type,
// link }), Bearer-key auth, asynchronous tasks (writes answer 202 with a task that moves enqueued → processing →
// succeeded | failed in the background), and vector search refused until the `vectorStore` experimental feature
// is on for versions before 1.13.
// Search follows Meilisearch's semantics where the engine relies on them: filters (=, !=, IN, NOT, AND, OR,
// parentheses) only on filterable attributes; userProvided embedders with fixed dimensions; vector scores of
// (1 + cosine) / 2; `hybrid.semanticRatio` 1 as a vector-only search, 0 as keyword-only, and in between merged as
// Meilisearch's hybrid.rs does it (lists ordered by score × ratio and score × (1 − ratio), semantic first on ties,
// first occurrence kept, unweighted score shown); a failing query fails the whole multi-search, its message
// prefixed with the query's place.
// Simplified: the keyword score is the words rule alone under matchingStrategy "last" (share of query words
// matched, the last one as a prefix); no typo tolerance, proximity, attribute or exactness rules.

type Doc = Record<string, unknown> & { _vectors?: Record<string, number[] | null> };

interface Settings {
  filterableAttributes: string[];
  searchableAttributes: string[];
  embedders: Record<string, { source: string; dimensions: number }>;
}

interface Index {
  uid: string;
  primaryKey: string | null;
  createdAt: string;
  updatedAt: string;
  settings: Settings;
  docs: Map<string, Doc>;
}

interface Task {
  uid: number;
  indexUid: string | null;
  status: "enqueued" | "processing" | "succeeded" | "failed";
  type: string;
  details: Record<string, unknown>;
  error: ApiError | null;
  enqueuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  run: () => void;
}

interface ApiError {
  message: string;
  code: string;
  type: "invalid_request" | "auth" | "internal";
  link: string;
}

class MeiliFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: ApiError["type"] = "invalid_request",
  ) {
    super(message);
  }
  get body(): ApiError {
    return { message: this.message, code: this.code, type: this.type, link: `https://docs.meilisearch.com/errors#${this.code}` };
  }
}

export interface MeilisearchStandIn {
  url: string;
  masterKey: string;
  /** Method and path of every request, in order. */
  requests: string[];
  experimentalFeatures: Record<string, boolean>;
  stop(): void;
}

export function startMeilisearchStandIn(opts: { version?: string; masterKey?: string } = {}): MeilisearchStandIn {
  const version = opts.version ?? "1.12.0";
  const masterKey = opts.masterKey ?? "stand-in-master-key";
  const [major, minor] = version.split(".").map(Number);
  const vectorStoreIsExperimental = major === 1 && minor! < 13;
  const experimentalFeatures: Record<string, boolean> = { metrics: false, ...(vectorStoreIsExperimental ? { vectorStore: false } : {}) };
  const indexes = new Map<string, Index>();
  const tasks: Task[] = [];
  const requests: string[] = [];
  let queue = Promise.resolve();
  const now = () => new Date().toISOString();

  const vectorStoreOn = () => !vectorStoreIsExperimental || experimentalFeatures.vectorStore === true;
  const requireVectorStore = () => {
    if (!vectorStoreOn()) {
      throw new MeiliFailure(400, "feature_not_enabled", "Passing `vector` or `embedders` requires enabling the `vector store` experimental feature. See https://github.com/meilisearch/product/discussions/677");
    }
  };

  const indexOrFail = (uid: string) => {
    const index = indexes.get(uid);
    if (!index) throw new MeiliFailure(404, "index_not_found", `Index \`${uid}\` not found.`);
    return index;
  };
  const indexOrCreate = (uid: string, primaryKey: string | null = null) => {
    let index = indexes.get(uid);
    if (!index) {
      index = { uid, primaryKey, createdAt: now(), updatedAt: now(), docs: new Map(), settings: { filterableAttributes: [], searchableAttributes: ["*"], embedders: {} } };
      indexes.set(uid, index);
    }
    return index;
  };

  const enqueue = (indexUid: string | null, type: string, details: Record<string, unknown>, run: () => void) => {
    const task: Task = { uid: tasks.length, indexUid, status: "enqueued", type, details, error: null, enqueuedAt: now(), startedAt: null, finishedAt: null, run };
    tasks.push(task);
    // One task at a time, in order, each a little later, as Meilisearch's scheduler does.
    queue = queue.then(async () => {
      await Bun.sleep(2);
      task.status = "processing";
      task.startedAt = now();
      await Bun.sleep(2);
      try {
        task.run();
        task.status = "succeeded";
      } catch (error) {
        task.status = "failed";
        task.error = error instanceof MeiliFailure ? error.body : { message: String(error), code: "internal", type: "internal", link: "https://docs.meilisearch.com/errors#internal" };
      }
      task.finishedAt = now();
    });
    return Response.json({ taskUid: task.uid, indexUid, status: "enqueued", type, enqueuedAt: task.enqueuedAt }, { status: 202 });
  };

  const publicTask = ({ run: _run, ...task }: Task) => ({ ...task, canceledBy: null, duration: task.finishedAt ? "PT0.002S" : null });

  const route = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname.replace(/\/+$/, "") || "/";
    requests.push(`${req.method} ${path}`);
    // The one route that needs no key.
    if (req.method === "GET" && path === "/health") return Response.json({ status: "available" });
    const auth = req.headers.get("authorization");
    if (!auth) throw new MeiliFailure(401, "missing_authorization_header", "The Authorization header is missing. It must use the bearer authorization method.", "auth");
    if (auth !== `Bearer ${masterKey}`) throw new MeiliFailure(403, "invalid_api_key", "The provided API key is invalid.", "auth");
    const body = async <T>() => {
      try {
        return (await req.json()) as T;
      } catch {
        throw new MeiliFailure(400, "bad_request", "The request body is not valid JSON.");
      }
    };

    if (req.method === "GET" && path === "/version") return Response.json({ commitSha: "stand-in", commitDate: now(), pkgVersion: version });
    if (path === "/experimental-features") {
      if (req.method === "PATCH") {
        for (const [key, value] of Object.entries(await body<Record<string, unknown>>())) {
          if (!(key in experimentalFeatures)) throw new MeiliFailure(400, "bad_request", `Unknown field \`${key}\`: expected one of ${Object.keys(experimentalFeatures).map((k) => `\`${k}\``).join(", ")}`);
          experimentalFeatures[key] = value === true;
        }
      }
      return Response.json(experimentalFeatures);
    }
    if (req.method === "POST" && path === "/multi-search") {
      const { queries } = await body<{ queries: (SearchRequest & { indexUid: string })[] }>();
      const results = queries.map(({ indexUid, ...query }, i) => {
        try {
          return { indexUid, ...search(indexOrFail(indexUid), query) };
        } catch (error) {
          if (error instanceof MeiliFailure) throw new MeiliFailure(error.status, error.code, `Inside \`.queries[${i}]\`: ${error.message}`, error.type);
          throw error;
        }
      });
      return Response.json({ results });
    }
    if (req.method === "POST" && path === "/indexes") {
      const { uid, primaryKey } = await body<{ uid: string; primaryKey?: string }>();
      return enqueue(uid, "indexCreation", { primaryKey: primaryKey ?? null }, () => {
        if (indexes.has(uid)) throw new MeiliFailure(409, "index_already_exists", `Index \`${uid}\` already exists.`);
        indexOrCreate(uid, primaryKey ?? null);
      });
    }
    let m = path.match(/^\/tasks\/(\d+)$/);
    if (req.method === "GET" && m) {
      const task = tasks[Number(m[1])];
      if (!task) throw new MeiliFailure(404, "task_not_found", `Task \`${m[1]}\` not found.`);
      return Response.json(publicTask(task));
    }
    m = path.match(/^\/indexes\/([A-Za-z0-9_-]+)(\/.*)?$/);
    if (!m) throw new MeiliFailure(404, "not_found", "Not found.");
    const uid = m[1]!;
    const rest = m[2] ?? "";

    if (req.method === "GET" && rest === "") {
      const { docs: _docs, settings: _settings, ...index } = indexOrFail(uid);
      return Response.json(index);
    }
    if (req.method === "DELETE" && rest === "") {
      return enqueue(uid, "indexDeletion", { deletedDocuments: indexes.get(uid)?.docs.size ?? 0 }, () => {
        indexOrFail(uid);
        indexes.delete(uid);
      });
    }
    if (req.method === "GET" && rest === "/stats") {
      const index = indexOrFail(uid);
      const fieldDistribution: Record<string, number> = {};
      for (const doc of index.docs.values()) for (const field of Object.keys(doc)) if (field !== "_vectors") fieldDistribution[field] = (fieldDistribution[field] ?? 0) + 1;
      return Response.json({ numberOfDocuments: index.docs.size, isIndexing: false, fieldDistribution });
    }
    if (req.method === "GET" && rest === "/settings") {
      const { settings } = indexOrFail(uid);
      return Response.json({ ...settings, ...(vectorStoreOn() ? {} : { embedders: undefined }) });
    }
    if (req.method === "DELETE" && rest === "/documents") {
      return enqueue(uid, "documentDeletion", { deletedDocuments: indexes.get(uid)?.docs.size ?? 0 }, () => {
        indexOrFail(uid).docs.clear();
      });
    }
    if (req.method === "PATCH" && rest === "/settings") {
      const patch = await body<Partial<Settings>>();
      if (patch.embedders) {
        requireVectorStore();
        for (const [name, embedder] of Object.entries(patch.embedders)) {
          if (embedder.source !== "userProvided" || !Number.isInteger(embedder.dimensions)) {
            throw new MeiliFailure(400, "invalid_settings_embedders", `\`.embedders.${name}\`: this stand-in knows only \`source: "userProvided"\` with integer \`dimensions\``);
          }
        }
      }
      return enqueue(uid, "settingsUpdate", patch as Record<string, unknown>, () => {
        const index = indexOrCreate(uid);
        index.settings = { ...index.settings, ...patch, embedders: { ...index.settings.embedders, ...patch.embedders } };
        index.updatedAt = now();
      });
    }
    if (req.method === "POST" && rest === "/documents") {
      const docs = await body<Doc[]>();
      const primaryKey = url.searchParams.get("primaryKey");
      return enqueue(uid, "documentAdditionOrUpdate", { receivedDocuments: docs.length }, () => {
        const index = indexOrCreate(uid, primaryKey);
        index.primaryKey ??= primaryKey;
        const key = index.primaryKey;
        if (!key) throw new MeiliFailure(400, "index_primary_key_no_candidate_found", "The primary key inference failed as the engine did not find any field ending with `id` in its name.");
        for (const doc of docs) {
          for (const [name, vector] of Object.entries(doc._vectors ?? {})) {
            const embedder = index.settings.embedders[name];
            if (!embedder) throw new MeiliFailure(400, "invalid_vectors_type", `Bad embedder configuration in the document with id: \`${String(doc[key])}\`. Could not find embedder with name \`${name}\`.`);
            if (vector !== null && vector.length !== embedder.dimensions) {
              throw new MeiliFailure(400, "invalid_vector_dimensions", `Mismatch between the expected vector dimensions (${embedder.dimensions}) and the one passed (${vector.length}).`);
            }
          }
        }
        for (const doc of docs) index.docs.set(String(doc[key]), doc);
        index.updatedAt = now();
      });
    }
    if (req.method === "POST" && rest === "/documents/delete") {
      const { filter } = await body<{ filter: string }>();
      const parsed = parseFilter(filter);
      return enqueue(uid, "documentDeletion", { originalFilter: JSON.stringify(filter) }, () => {
        const index = indexOrFail(uid);
        checkFilterable(parsed, index, "invalid_document_filter");
        for (const [id, doc] of index.docs) if (matches(parsed, doc)) index.docs.delete(id);
      });
    }
    throw new MeiliFailure(404, "not_found", "Not found.");
  };

  const search = (index: Index, req: SearchRequest) => {
    const started = performance.now();
    const limit = req.limit ?? 20;
    let candidates = [...index.docs.values()];
    if (req.filter) {
      const parsed = parseFilter(req.filter);
      checkFilterable(parsed, index, "invalid_search_filter");
      candidates = candidates.filter((d) => matches(parsed, d));
    }
    let semantic: Scored[] | null = null;
    if (req.vector || req.hybrid) {
      requireVectorStore();
      const name = req.hybrid?.embedder ?? "default";
      const embedder = index.settings.embedders[name];
      if (!embedder) throw new MeiliFailure(400, "invalid_search_embedder", `Cannot find embedder with name \`${name}\`.`);
      if (!req.vector) throw new MeiliFailure(400, "missing_search_hybrid", "A userProvided embedder needs a `vector` in the query.");
      if (req.vector.length !== embedder.dimensions) {
        throw new MeiliFailure(400, "invalid_vector_dimensions", `Mismatch between the expected vector dimensions (${embedder.dimensions}) and the one passed (${req.vector.length}).`);
      }
      semantic = candidates
        .flatMap((doc) => {
          const v = doc._vectors?.[name];
          return v ? [{ doc, score: (1 + cosine(req.vector!, v)) / 2 }] : [];
        })
        .sort((a, b) => b.score - a.score)
        .slice(0, limit);
    }
    const keyword = keywordSearch(index, candidates, req.q ?? "").slice(0, limit);
    const ratio = req.hybrid?.semanticRatio ?? 0.5;
    let hits: Scored[];
    let semanticHitCount: number | undefined;
    if (!semantic || ratio === 0) hits = keyword;
    else if (!req.hybrid || ratio === 1) hits = semantic;
    else if (keyword.length >= limit && keyword.every((k) => k.score * (1 - ratio) >= 0.45)) {
      hits = keyword;
      semanticHitCount = 0;
    } else {
      ({ hits, semanticHitCount } = mergeHybrid(semantic, keyword, ratio, limit));
    }
    const shown = hits.slice(0, limit).map(({ doc, score }) => {
      const fields = req.attributesToRetrieve ?? Object.keys(doc).filter((k) => k !== "_vectors");
      return { ...Object.fromEntries(fields.filter((f) => f in doc).map((f) => [f, doc[f]])), ...(req.showRankingScore ? { _rankingScore: score } : {}) };
    });
    return {
      hits: shown,
      query: req.q ?? "",
      processingTimeMs: Math.round(performance.now() - started),
      limit,
      offset: 0,
      estimatedTotalHits: shown.length,
      ...(semanticHitCount === undefined ? {} : { semanticHitCount }),
    };
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      try {
        return await route(req);
      } catch (error) {
        if (error instanceof MeiliFailure) return Response.json(error.body, { status: error.status });
        throw error;
      }
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    masterKey,
    requests,
    experimentalFeatures,
    stop: () => server.stop(true),
  };
}

interface SearchRequest {
  q?: string;
  vector?: number[];
  hybrid?: { embedder?: string; semanticRatio?: number };
  filter?: string;
  limit?: number;
  showRankingScore?: boolean;
  attributesToRetrieve?: string[];
}

interface Scored {
  doc: Doc;
  score: number;
}

function mergeHybrid(semantic: Scored[], keyword: Scored[], ratio: number, limit: number) {
  const seen = new Set<Doc>();
  const hits: Scored[] = [];
  let semanticHitCount = 0;
  let s = 0;
  let k = 0;
  while (hits.length < limit && (s < semantic.length || k < keyword.length)) {
    const takeSemantic = k >= keyword.length || (s < semantic.length && semantic[s]!.score * ratio >= keyword[k]!.score * (1 - ratio));
    const next = takeSemantic ? semantic[s++]! : keyword[k++]!;
    if (seen.has(next.doc)) continue;
    seen.add(next.doc);
    hits.push(next);
    if (takeSemantic) semanticHitCount++;
  }
  return { hits, semanticHitCount };
}

const wordsOf = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

function keywordSearch(index: Index, docs: Doc[], q: string): Scored[] {
  const query = wordsOf(q);
  if (!query.length) return docs.map((doc) => ({ doc, score: 1 }));
  const searchable = index.settings.searchableAttributes;
  const docWords = (doc: Doc) =>
    Object.entries(doc)
      .filter(([k, v]) => typeof v === "string" && (searchable.includes("*") || searchable.includes(k)))
      .flatMap(([, v]) => wordsOf(v as string));
  const scored: Scored[] = [];
  for (const doc of docs) {
    const words = new Set(docWords(doc));
    const has = (w: string, i: number) => words.has(w) || (i === query.length - 1 && [...words].some((d) => d.startsWith(w)));
    // matchingStrategy "last": all words, then all but the last, and so on; the first word is always required.
    let matched = 0;
    while (matched < query.length && has(query[matched]!, matched)) matched++;
    if (matched === 0) continue;
    scored.push({ doc, score: matched / query.length });
  }
  return scored.sort((a, b) => b.score - a.score);
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na && nb ? Math.max(-1, Math.min(1, dot / Math.sqrt(na * nb))) : 1;
}

// ---- filters: the subset of Meilisearch's filter grammar the engine can send -----------------------------

type Filter =
  | { op: "and" | "or"; left: Filter; right: Filter }
  | { op: "not"; inner: Filter }
  | { op: "=" | "!="; attribute: string; value: string }
  | { op: "in"; attribute: string; values: string[] };

function parseFilter(source: string): Filter {
  const tokens = source.match(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|!=|[=[\](),]|[^\s=!\[\](),]+/g) ?? [];
  let at = 0;
  const fail = (): never => {
    throw new MeiliFailure(400, "invalid_search_filter", `Was expecting an operation \`=\`, \`!=\`, \`IN\`, \`AND\`, \`OR\`, \`NOT\` at \`${source}\`.`);
  };
  const peek = () => tokens[at];
  const next = () => tokens[at++] ?? fail();
  const value = () => {
    const t = next();
    return /^["']/.test(t) ? t.slice(1, -1).replace(/\\(.)/g, "$1") : t;
  };
  const primary = (): Filter => {
    if (peek()?.toUpperCase() === "NOT") {
      at++;
      return { op: "not", inner: primary() };
    }
    if (peek() === "(") {
      at++;
      const inner = or();
      if (next() !== ")") fail();
      return inner;
    }
    const attribute = value();
    const op = next();
    if (op === "=" || op === "!=") return { op, attribute, value: value() };
    if (op.toUpperCase() === "IN") {
      if (next() !== "[") fail();
      const values: string[] = [];
      while (peek() !== "]") {
        values.push(value());
        if (peek() === ",") at++;
      }
      at++;
      return { op: "in", attribute, values };
    }
    return fail();
  };
  const and = (): Filter => {
    let left = primary();
    while (peek()?.toUpperCase() === "AND") {
      at++;
      left = { op: "and", left, right: primary() };
    }
    return left;
  };
  const or = (): Filter => {
    let left = and();
    while (peek()?.toUpperCase() === "OR") {
      at++;
      left = { op: "or", left, right: and() };
    }
    return left;
  };
  const filter = or();
  if (at !== tokens.length) fail();
  return filter;
}

function attributesOf(filter: Filter): string[] {
  switch (filter.op) {
    case "and":
    case "or":
      return [...attributesOf(filter.left), ...attributesOf(filter.right)];
    case "not":
      return attributesOf(filter.inner);
    default:
      return [filter.attribute];
  }
}

function checkFilterable(filter: Filter, index: Index, code: string) {
  for (const attribute of attributesOf(filter)) {
    if (!index.settings.filterableAttributes.includes(attribute)) {
      throw new MeiliFailure(400, code, `Attribute \`${attribute}\` is not filterable. Available filterable attributes are: \`${index.settings.filterableAttributes.join(", ")}\`.`);
    }
  }
}

function matches(filter: Filter, doc: Doc): boolean {
  switch (filter.op) {
    case "and":
      return matches(filter.left, doc) && matches(filter.right, doc);
    case "or":
      return matches(filter.left, doc) || matches(filter.right, doc);
    case "not":
      return !matches(filter.inner, doc);
    case "=":
      return String(doc[filter.attribute]) === filter.value;
    case "!=":
      return String(doc[filter.attribute]) !== filter.value;
    case "in":
      return filter.values.includes(String(doc[filter.attribute]));
  }
}
