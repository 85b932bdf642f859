// Fetching web pages for URL sources, through the egress guard (no private, loopback or link-local address
// unless EGRESS_ALLOWLIST names it; every redirect checked again), with a time and size limit per page.
import { EgressRefused, MAX_REDIRECTS, TooManyRedirects, type EgressGuard } from "../../platform/egress.ts";
import { readCapped } from "../../platform/http/capped-body.ts";
import { IngestionError, TransientIngestionError } from "./errors.ts";

export const USER_AGENT = "FlowyteBot/1.0 (+knowledge ingestion)";
/** The robots.txt product token this crawler obeys. */
export const ROBOTS_AGENT = "FlowyteBot";
const PAGE_TIMEOUT_MS = 20_000;
const MAX_PAGE_BYTES = 10 * 1024 * 1024;

export interface FetchedPage {
  url: URL;
  status: number;
  contentType: string;
  body: Uint8Array;
}

export type PageFetcher = (url: URL, signal: AbortSignal) => Promise<FetchedPage>;

export function createPageFetcher(guard: EgressGuard): PageFetcher {
  return async (url, signal) => {
    const timeout = AbortSignal.timeout(PAGE_TIMEOUT_MS);
    const combined = AbortSignal.any([signal, timeout]);
    let response: Response;
    try {
      response = await guard.fetch(url, { method: "GET", headers: new Headers({ "user-agent": USER_AGENT, accept: "text/html,application/xhtml+xml,text/plain,application/xml;q=0.9,*/*;q=0.8" }), signal: combined });
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof EgressRefused) throw new IngestionError(`${url.href} was refused: ${error.message}`);
      if (error instanceof TooManyRedirects) throw new IngestionError(`${url.href} redirects more than ${MAX_REDIRECTS} times`);
      if (timeout.aborted) throw new TransientIngestionError(`${url.href} did not answer within ${PAGE_TIMEOUT_MS / 1000} s`);
      throw new TransientIngestionError(`${url.href} could not be reached (${error instanceof Error ? error.message : "network error"})`);
    }
    const body = await readLimited(response, url, combined, () => timeout.aborted);
    return { url, status: response.status, contentType: response.headers.get("content-type") ?? "", body };
  };
}

async function readLimited(response: Response, url: URL, signal: AbortSignal, timedOut: () => boolean): Promise<Uint8Array> {
  let body: Uint8Array | null;
  try {
    body = await readCapped(response, MAX_PAGE_BYTES);
  } catch (error) {
    if (signal.aborted && !timedOut()) throw error;
    throw new TransientIngestionError(timedOut() ? `${url.href} did not finish answering within ${PAGE_TIMEOUT_MS / 1000} s` : `${url.href} broke off while answering`);
  }
  if (!body) throw new IngestionError(`${url.href} is larger than ${MAX_PAGE_BYTES / 1024 / 1024} MB`);
  return body;
}

/** A status that ends the attempt: 404 and friends will not change on retry, 429 and 5xx may. */
export function statusProblem(page: FetchedPage): Error | null {
  const { status, url } = page;
  if (status >= 200 && status < 300) return null;
  if (status === 429 || status >= 500) return new TransientIngestionError(`${url.href} answered ${status}`);
  return new IngestionError(`${url.href} answered ${status}${status === 401 || status === 403 ? " (the page needs a login; only public pages can be read)" : ""}`);
}
