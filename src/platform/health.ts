// Health of the systems this server calls besides its storage: Meilisearch, the LLM server, the embeddings server and
// the speech server. Each is optional, and a conversation goes on without it (answers without knowledge, an
// apology, espeak-ng for a speech server), so a dependency that is down is reported, not a reason to take the replica
// out of service: `/ready` stays 200 while storage answers. Probes are cheap GETs with a short deadline, shared by
// concurrent callers and cached for a few seconds, so a readiness probe or a metrics scrape never piles up requests on
// a struggling dependency, and a hung one costs PROBE_TIMEOUT_MS at most.
import type { Config } from "../config.ts";

export type DependencyName = "meilisearch" | "llm" | "embeddings" | "speech";
export type DependencyStatus = "up" | "down" | "not_configured";
export type DependencyReport = Record<DependencyName, DependencyStatus>;

export const DEPENDENCY_NAMES: readonly DependencyName[] = ["meilisearch", "llm", "embeddings", "speech"];
const PROBE_TIMEOUT_MS = 1000;
const CACHE_MS = 5000;

export interface DependencyHealth {
  /** Each dependency's status, probed at most once per few seconds; the first call waits for the probes (bounded). */
  dependencyHealth(): Promise<DependencyReport>;
}

type Probe = () => Promise<boolean>;

export function createDependencyHealth(
  config: Pick<Config, "meili" | "llm" | "embeddings" | "speech">,
  { timeoutMs = PROBE_TIMEOUT_MS, cacheMs = CACHE_MS, clock = Date.now }: { timeoutMs?: number; cacheMs?: number; clock?: () => number } = {},
): DependencyHealth {
  // Meilisearch's GET /health needs no key and answers {"status":"available"}. OpenAI-compatible servers have no
  // health route; GET /models is the cheapest call they share. A server without that route (404, 405) is up; one
  // refusing the key (401, 403) is down, since every real call would be refused too.
  const probes: Record<DependencyName, Probe | null> = {
    meilisearch: config.meili ? () => answers(`${config.meili!.url}/health`, null, timeoutMs, async (res) => res.ok && (await res.json())?.status === "available") : null,
    llm: config.llm ? openAiCompatible(config.llm.baseUrl, config.llm.apiKey, timeoutMs) : null,
    embeddings: config.embeddings ? openAiCompatible(config.embeddings.baseUrl, config.embeddings.apiKey, timeoutMs) : null,
    speech: config.speech ? openAiCompatible(config.speech.baseUrl, config.speech.apiKey, timeoutMs) : null,
  };

  let last: { at: number; report: DependencyReport } | null = null;
  let running: Promise<DependencyReport> | null = null;

  const probeAll = async (): Promise<DependencyReport> => {
    const statuses = await Promise.all(DEPENDENCY_NAMES.map(async (name): Promise<DependencyStatus> => (probes[name] ? ((await probes[name]!()) ? "up" : "down") : "not_configured")));
    return Object.fromEntries(DEPENDENCY_NAMES.map((name, i) => [name, statuses[i]!])) as DependencyReport;
  };

  return {
    dependencyHealth() {
      if (last && clock() - last.at < cacheMs) return Promise.resolve(last.report);
      running ??= probeAll()
        .then((report) => {
          last = { at: clock(), report };
          return report;
        })
        .finally(() => {
          running = null;
        });
      return running;
    },
  };
}

function openAiCompatible(baseUrl: string, apiKey: string | null, timeoutMs: number): Probe {
  return () => answers(`${baseUrl}/models`, apiKey, timeoutMs, async (res) => res.ok || res.status === 404 || res.status === 405);
}

/** Whether `url` answers within the deadline in a way `healthy` accepts; a refused connection or a silence is false. */
async function answers(url: string, apiKey: string | null, timeoutMs: number, healthy: (res: Response) => Promise<boolean>): Promise<boolean> {
  try {
    const res = await fetch(url, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
    try {
      return await healthy(res);
    } finally {
      await res.body?.cancel().catch(() => {});
    }
  } catch {
    return false;
  }
}
