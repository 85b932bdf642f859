// Every setting of the server, read from the environment in one place. `.env.example` lists the same names;
// `loadConfig` refuses a bad value with a message naming the variable, and `main.ts` exits non-zero on it.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { isPhoneRegion, type PhoneRegion } from "./platform/e164.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Config {
  port: number;
  host: string;
  /** Embedded database, uploads and the generated master key live here. */
  dataDir: string;
  /** postgres:// URL; when absent the embedded PGlite store in `dataDir` is used. */
  databaseUrl: string | null;
  /** When set, a secret key with every scope and exactly this value exists after start. */
  adminKey: string | null;
  /** 32-byte key for AES-256-GCM of secrets at rest; null means "read or generate DATA_DIR/master.key". */
  masterKey: Buffer | null;
  logLevel: LogLevel;
  publicBaseUrl: string;
  /** Requests per minute per API key; 0 turns rate limiting off. */
  rateLimitPerMinute: number;
  /** Largest JSON body accepted, in bytes (uploads have their own 25 MB limit). */
  maxJsonBodyBytes: number;
  /**
   * OpenAI-compatible chat completions server (Ollama, vLLM, llama.cpp); null = the built-in brain. `timeoutMs`: the
   * longest the server may stay silent, before its first event and between two events of a streamed answer.
   */
  llm: { baseUrl: string; apiKey: string | null; model: string; timeoutMs: number } | null;
  /** Hosts, IPs or CIDRs that skills may reach even though they are private, loopback or link-local. */
  egressAllowlist: string[];
  /**
   * Integration plugins: `pluginsDir` holds the operator's own (docs/plugins.md); `sqlPlaintextHosts` are database
   * hosts that may be reached without TLS (sslmode=disable), for databases on a private network; `timeoutMs` is the
   * deadline of one integration call inside a turn.
   */
  integrations: { pluginsDir: string | null; sqlPlaintextHosts: string[]; timeoutMs: number; oauthClients: Record<string, OAuthClient> };
  /**
   * The operator's Shopify app, for App Store installs (docs/operator-guide.md): its client id and secret (which
   * signs install callbacks and exchanges their codes); null = installs refused. `adminOrigin` stands for
   * https://{shop} (a mirror, a test stand-in); the shopify plugin reads the same SHOPIFY_ADMIN_ORIGIN.
   */
  shopify: { clientId: string; appSecret: string; adminOrigin: string | null } | null;
  /** SMTP server for the email skill (smtp:// or smtps:// URL with credentials); null = email skills unavailable. */
  smtp: { url: string; from: string } | null;
  /** Nominatim-compatible geocoder; null = offline geocoding from the bundled postal-code and city data. */
  geocoderUrl: string | null;
  /** Speech, embedding and VAD models (Whisper, Piper, Silero, sentence embeddings). */
  modelsDir: string;
  /**
   * Default models fetched into `modelsDir` when missing (docs/models.md): `autoDownload` at start, in the background;
   * `language` picks the Piper voice; the base URLs stand for huggingface.co and github.com (mirrors, test stand-ins).
   */
  models: { autoDownload: boolean; language: string; hfBaseUrl: string; githubBaseUrl: string };
  /** Meilisearch for knowledge search; null = the in-process engine. `timeoutMs` bounds each request. */
  meili: { url: string; apiKey: string | null; timeoutMs: number } | null;
  /** OpenAI-compatible /embeddings server; null = the local model from MODELS_DIR (or the hashing fallback). */
  embeddings: { baseUrl: string; apiKey: string | null; model: string; timeoutMs: number } | null;
  /**
   * How long a turn waits for knowledge (embedding the question and searching) before it answers without it: a hung
   * search engine or embeddings server costs this much, not the conversation.
   */
  knowledgeSearchTimeoutMs: number;
  /**
   * Asterisk ARI; null = telephony off. `leaseSeconds`: how long the replica holding the Stasis application may go
   * without renewing its lease before a standby takes the application over (docs/operator-guide.md).
   */
  ari: { url: string; username: string; password: string; app: string; leaseSeconds: number } | null;
  /**
   * Where Asterisk sends call audio (ExternalMedia): this server's address as Asterisk sees it, and the UDP ports to
   * use. `mediaFormat` (VOICE_MEDIA_FORMAT): `auto` opens slin16 (16 kHz) when the caller's leg is wideband (G.722,
   * Opus) and µ-law otherwise; `ulaw` or `slin16` always that one (docs/voice-ari.md, "Media format").
   */
  rtp: { host: string; portMin: number; portMax: number; mediaFormat: "auto" | "ulaw" | "slin16" };
  /** OpenAI-compatible speech server (/audio/transcriptions, /audio/speech); null = local models. `timeoutMs` bounds each request. */
  speech: { baseUrl: string; apiKey: string | null; timeoutMs: number } | null;
  /** DIDs the SIP trunk routes, offered as this installation's number inventory. */
  trunkNumbers: string[];
  /** Let secret keys mint in-browser voice test tokens (the hosted API reserves them for dashboard sessions). */
  talkTokensForKeys: boolean;
  /**
   * Reverse proxies in front of the server whose X-Forwarded-For entries are believed: 0 = none (the connection's
   * peer address is the client), n = the client is the n-th address from the right of the XFF chain plus the peer.
   */
  trustProxy: number;
  /**
   * How long a replica may serve a cached agent, API key or publishable key (and its copy of the knowledge index)
   * after another replica changed it, should the change announcement (LISTEN/NOTIFY) not reach it.
   */
  cacheTtlSeconds: number;
  /**
   * How a phone number written without `+` is read (numbers import, transfer targets, after-hours numbers, callback
   * numbers callers say) when nothing closer says: an agent whose primary language names a region (`en-GB`) reads
   * numbers there, a caller's callback number is read in the caller's own country.
   */
  defaultPhoneRegion: PhoneRegion;
  /** redis:// URL: rate limits are counted there instead of in Postgres (or in memory on the embedded store). */
  redisUrl: string | null;
  /** A Turnstile-compatible siteverify endpoint that widget sessions must pass; null = no bot check. */
  widgetBotCheck: { url: string; secret: string } | null;
  /** Credits (cents) charged per metered unit of each usage channel; all 0 unless the operator sets prices. */
  usageRates: UsageRates;
  /** This process among the replicas (REPLICA_ID; default hostname-pid-random): who holds the ARI lease, who ran a call or a probe run. */
  replicaId: string;
  /** Days domain events are kept once every subscription has handled them (and a subscription not run is kept). */
  eventRetentionDays: number;
  /** Bearer token `/metrics` asks for; null = the endpoint is open (firewall it, or set one). */
  metricsToken: string | null;
  /** OTLP/HTTP trace export; null = no tracing (spans cost nothing). */
  otel: { tracesUrl: string; headers: Record<string, string>; serviceName: string } | null;
  /** On SIGTERM, how long `/ready` answers 503 before the server stops, so load balancers take it out of rotation first. */
  shutdownDelayMs: number;
}

/**
 * The operator's own OAuth client for a provider, named by the env prefix its plugins declare (`GOOGLE_OAUTH` for
 * both Google plugins). `baseUrl` stands for every one of the provider's hosts (a proxy, or a test stand-in).
 */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  baseUrl: string | null;
}

/** Usage channels with a per-unit rate: a voice minute, a chat message, a minute of a forwarded transfer leg. */
export const RATED_CHANNELS = ["voice", "chat", "transfer_minute"] as const;
export type UsageRates = Record<(typeof RATED_CHANNELS)[number], number>;
/** Highest rate accepted, in credits per unit ($1,000). */
const MAX_RATE = 100_000;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

const ADMIN_KEY_PATTERN = /^flowyte_sk_(live_|test_)?[A-Za-z0-9_-]{32,}$/;

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const text = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? null : v;
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const v = text(name);
    if (v === null) return fallback;
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  };

  const port = integer("PORT", 3000, 0, 65535);
  const host = text("HOST") ?? "0.0.0.0";
  const dataDir = resolve(text("DATA_DIR") ?? "./data");

  const databaseUrl = text("DATABASE_URL");
  if (databaseUrl !== null && !/^postgres(ql)?:\/\/.+/.test(databaseUrl)) {
    problems.push(`DATABASE_URL must be a postgres:// or postgresql:// URL`);
  }

  const adminKey = text("FLOWYTE_ADMIN_KEY");
  if (adminKey !== null && !ADMIN_KEY_PATTERN.test(adminKey)) {
    problems.push(
      "FLOWYTE_ADMIN_KEY must look like flowyte_sk_live_<at least 32 letters, digits, '-' or '_'> (e.g. flowyte_sk_live_$(openssl rand -hex 32))",
    );
  }

  let masterKey: Buffer | null = null;
  const masterText = text("MASTER_KEY");
  if (masterText !== null) {
    masterKey = parseMasterKey(masterText);
    if (!masterKey) problems.push("MASTER_KEY must be 32 bytes as 64 hex characters or base64 (e.g. openssl rand -hex 32)");
  }

  const levelText = (text("LOG_LEVEL") ?? "info").toLowerCase();
  const logLevel = (["debug", "info", "warn", "error"] as const).find((l) => l === levelText);
  if (!logLevel) problems.push(`LOG_LEVEL must be one of debug, info, warn, error (got "${levelText}")`);

  let publicBaseUrl = text("PUBLIC_BASE_URL") ?? `http://localhost:${port}`;
  try {
    const u = new URL(publicBaseUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    publicBaseUrl = publicBaseUrl.replace(/\/+$/, "");
  } catch {
    problems.push(`PUBLIC_BASE_URL must be an http(s) URL (got "${publicBaseUrl}")`);
  }

  const rateLimitPerMinute = integer("RATE_LIMIT_PER_MINUTE", 1200, 0, 10_000_000);
  const maxJsonBodyBytes = integer("MAX_JSON_BODY_BYTES", 1024 * 1024, 1024, 25 * 1024 * 1024);

  const url = (name: string, protocols: string[]) => {
    const v = text(name);
    if (v === null) return null;
    try {
      const u = new URL(v);
      if (protocols.includes(u.protocol)) return v.replace(/\/+$/, "");
    } catch {}
    problems.push(`${name} must be a ${protocols.map((p) => p.replace(":", "")).join(" or ")} URL (got "${v}")`);
    return null;
  };

  const llmBaseUrl = url("LLM_BASE_URL", ["http:", "https:"]);
  const llmModel = text("LLM_MODEL");
  if (llmBaseUrl && !llmModel) problems.push("LLM_MODEL is required when LLM_BASE_URL is set (e.g. llama3.1:8b)");
  const llmTimeoutMs = integer("LLM_TIMEOUT_MS", 30_000, 100, 600_000);
  const llm = llmBaseUrl && llmModel ? { baseUrl: llmBaseUrl, apiKey: text("LLM_API_KEY"), model: llmModel, timeoutMs: llmTimeoutMs } : null;

  const egressAllowlist = (text("EGRESS_ALLOWLIST") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  const integrations = {
    pluginsDir: text("PLUGINS_DIR"),
    sqlPlaintextHosts: (text("SQL_PLAINTEXT_HOSTS") ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean),
    timeoutMs: integer("INTEGRATION_TIMEOUT_MS", 8_000, 100, 120_000),
    oauthClients: {} as Record<string, OAuthClient>,
  };
  const googleClientId = text("GOOGLE_OAUTH_CLIENT_ID");
  const googleClientSecret = text("GOOGLE_OAUTH_CLIENT_SECRET");
  const googleBaseUrl = url("GOOGLE_OAUTH_BASE_URL", ["http:", "https:"]);
  if (!!googleClientId !== !!googleClientSecret) problems.push("GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET are set together (the OAuth client of your Google Cloud project, docs/operator-guide.md)");
  if (googleClientId && googleClientSecret) integrations.oauthClients.GOOGLE_OAUTH = { clientId: googleClientId, clientSecret: googleClientSecret, baseUrl: googleBaseUrl };
  // An operator's own oauth2 plugin names its client prefix (`auth.client: "ACME_OAUTH"`); its three variables are
  // read the same way, so a plugin from PLUGINS_DIR needs no change here (docs/plugins.md).
  for (const name of Object.keys(env)) {
    const prefix = /^([A-Z][A-Z0-9_]*_OAUTH)_CLIENT_ID$/.exec(name)?.[1];
    if (!prefix || prefix === "GOOGLE_OAUTH") continue;
    const clientId = text(`${prefix}_CLIENT_ID`);
    const clientSecret = text(`${prefix}_CLIENT_SECRET`);
    if (!clientId) continue;
    if (!clientSecret) problems.push(`${prefix}_CLIENT_SECRET is required with ${prefix}_CLIENT_ID`);
    else integrations.oauthClients[prefix] = { clientId, clientSecret, baseUrl: url(`${prefix}_BASE_URL`, ["http:", "https:"]) };
  }

  const shopifyClientId = text("SHOPIFY_APP_CLIENT_ID");
  const shopifyAppSecret = text("SHOPIFY_APP_SECRET");
  if (!shopifyClientId !== !shopifyAppSecret) problems.push("SHOPIFY_APP_CLIENT_ID and SHOPIFY_APP_SECRET are set together (your Shopify app's client id and secret)");
  const shopifyAdminOrigin = url("SHOPIFY_ADMIN_ORIGIN", ["http:", "https:"]);
  const shopify = shopifyClientId && shopifyAppSecret ? { clientId: shopifyClientId, appSecret: shopifyAppSecret, adminOrigin: shopifyAdminOrigin } : null;

  const smtpUrl = url("SMTP_URL", ["smtp:", "smtps:"]);
  const smtpFrom = text("SMTP_FROM");
  if (smtpFrom !== null && !/^[^\s@]+@[^\s@]+$/.test(smtpFrom)) problems.push(`SMTP_FROM must be an email address (got "${smtpFrom}")`);
  const smtp = smtpUrl ? { url: smtpUrl, from: smtpFrom ?? `no-reply@${new URL(publicBaseUrl).hostname}` } : null;

  const geocoderUrl = url("GEOCODER_URL", ["http:", "https:"]);

  const modelsDir = resolve(text("MODELS_DIR") ?? "./models");
  const autoDownloadText = (text("MODELS_AUTO_DOWNLOAD") ?? "true").toLowerCase();
  if (!["true", "false", "1", "0"].includes(autoDownloadText)) problems.push(`MODELS_AUTO_DOWNLOAD must be true or false (got "${autoDownloadText}")`);
  const modelsLanguage = text("MODELS_LANGUAGE") ?? "en";
  if (!/^[a-z]{2,3}(-[A-Za-z]{2})?$/.test(modelsLanguage)) problems.push(`MODELS_LANGUAGE must be a language tag such as en, de or pt-BR (got "${modelsLanguage}")`);
  const models = {
    autoDownload: autoDownloadText === "true" || autoDownloadText === "1",
    language: modelsLanguage,
    hfBaseUrl: url("MODELS_HF_BASE_URL", ["http:", "https:"]) ?? "https://huggingface.co",
    githubBaseUrl: url("MODELS_GITHUB_BASE_URL", ["http:", "https:"]) ?? "https://github.com",
  };

  const meiliUrl = url("MEILI_URL", ["http:", "https:"]);
  const meiliTimeoutMs = integer("MEILI_TIMEOUT_MS", 10_000, 100, 600_000);
  const meili = meiliUrl ? { url: meiliUrl, apiKey: text("MEILI_MASTER_KEY"), timeoutMs: meiliTimeoutMs } : null;

  const embeddingsUrl = url("EMBEDDINGS_BASE_URL", ["http:", "https:"]);
  const embeddingsModel = text("EMBEDDINGS_MODEL");
  if (embeddingsUrl && !embeddingsModel) problems.push("EMBEDDINGS_MODEL is required when EMBEDDINGS_BASE_URL is set (e.g. nomic-embed-text)");
  const embeddingsTimeoutMs = integer("EMBEDDINGS_TIMEOUT_MS", 30_000, 100, 600_000);
  const embeddings = embeddingsUrl && embeddingsModel ? { baseUrl: embeddingsUrl, apiKey: text("EMBEDDINGS_API_KEY"), model: embeddingsModel, timeoutMs: embeddingsTimeoutMs } : null;
  const knowledgeSearchTimeoutMs = integer("KNOWLEDGE_SEARCH_TIMEOUT_MS", 2000, 50, 60_000);

  const ariUrl = url("ARI_URL", ["http:", "https:"]);
  const ariUser = text("ARI_USERNAME");
  const ariPassword = text("ARI_PASSWORD");
  if (ariUrl && (!ariUser || !ariPassword)) problems.push("ARI_USERNAME and ARI_PASSWORD are required when ARI_URL is set");
  const ariApp = text("ARI_APP") ?? "flowyte";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(ariApp)) problems.push(`ARI_APP must be letters, digits, '-' or '_' (got "${ariApp}")`);
  const ariLeaseSeconds = integer("ARI_LEASE_SECONDS", 10, 2, 300);
  const ari = ariUrl && ariUser && ariPassword ? { url: ariUrl, username: ariUser, password: ariPassword, app: ariApp, leaseSeconds: ariLeaseSeconds } : null;

  const rtpHost = text("RTP_HOST") ?? "127.0.0.1";
  const rtpPortMin = integer("RTP_PORT_MIN", 40000, 1024, 65535);
  const rtpPortMax = integer("RTP_PORT_MAX", 40999, 1024, 65535);
  if (rtpPortMin > rtpPortMax) problems.push("RTP_PORT_MIN must not exceed RTP_PORT_MAX");
  const mediaFormatText = text("VOICE_MEDIA_FORMAT") ?? "auto";
  const mediaFormat = mediaFormatText === "ulaw" || mediaFormatText === "slin16" ? mediaFormatText : "auto";
  if (mediaFormat !== mediaFormatText) problems.push(`VOICE_MEDIA_FORMAT must be auto, ulaw or slin16 (got "${mediaFormatText}")`);

  const speechUrl = url("SPEECH_BASE_URL", ["http:", "https:"]);
  const speechTimeoutMs = integer("SPEECH_TIMEOUT_MS", 10_000, 100, 600_000);
  const speech = speechUrl ? { baseUrl: speechUrl, apiKey: text("SPEECH_API_KEY"), timeoutMs: speechTimeoutMs } : null;

  const trunkNumbers: string[] = [];
  for (const raw of (text("TRUNK_NUMBERS") ?? "").split(",").map((v) => v.trim()).filter(Boolean)) {
    if (/^\+[1-9]\d{7,14}$/.test(raw)) trunkNumbers.push(raw);
    else problems.push(`TRUNK_NUMBERS must list E.164 numbers separated by commas ("${raw}" is not one)`);
  }

  const talkTokensText = (text("TALK_TOKENS_FOR_KEYS") ?? "true").toLowerCase();
  if (!["true", "false", "1", "0"].includes(talkTokensText)) problems.push(`TALK_TOKENS_FOR_KEYS must be true or false (got "${talkTokensText}")`);
  const talkTokensForKeys = talkTokensText === "true" || talkTokensText === "1";

  // A hop count rather than a yes/no: "true" would have to mean "believe every entry", which lets any client pick its
  // own address; a count names exactly which entry the operator's own proxies wrote.
  const trustProxyText = text("TRUST_PROXY");
  let trustProxy = 0;
  if (trustProxyText !== null) {
    const hops = /^\d{1,2}$/.test(trustProxyText) ? Number(trustProxyText) : trustProxyText.toLowerCase() === "false" ? 0 : NaN;
    if (Number.isInteger(hops) && hops <= 10) trustProxy = hops;
    else problems.push(`TRUST_PROXY must be the number of reverse proxies in front of the server, 0 to 10: 0 (or false) when clients connect directly, 1 behind one proxy such as nginx or an ingress (got "${trustProxyText}")`);
  }

  const botCheckUrl = url("WIDGET_BOT_CHECK_URL", ["http:", "https:"]);
  const botCheckSecret = text("WIDGET_BOT_CHECK_SECRET");
  if (botCheckUrl && !botCheckSecret) problems.push("WIDGET_BOT_CHECK_SECRET is required when WIDGET_BOT_CHECK_URL is set (the siteverify secret key, e.g. Turnstile's 0x4AAA…)");
  if (botCheckSecret && !text("WIDGET_BOT_CHECK_URL")) problems.push("WIDGET_BOT_CHECK_URL is required when WIDGET_BOT_CHECK_SECRET is set (e.g. https://challenges.cloudflare.com/turnstile/v0/siteverify)");
  const widgetBotCheck = botCheckUrl && botCheckSecret ? { url: botCheckUrl, secret: botCheckSecret } : null;

  const usageRates = parseUsageRates(text("USAGE_RATES"), problems);
  const eventRetentionDays = integer("EVENT_RETENTION_DAYS", 30, 1, 3650);

  const cacheTtlSeconds = integer("CACHE_TTL_SECONDS", 30, 1, 86_400);
  const regionText = (text("DEFAULT_PHONE_REGION") ?? "US").toUpperCase();
  if (!isPhoneRegion(regionText)) problems.push(`DEFAULT_PHONE_REGION must be an ISO 3166 two-letter country code such as US, GB or DE (got "${regionText}")`);
  const defaultPhoneRegion: PhoneRegion = isPhoneRegion(regionText) ? regionText : "US";
  const redisUrl = url("REDIS_URL", ["redis:", "rediss:"]);
  // Unique per process by default, so a restarted replica is never mistaken for the one that was there before.
  const replicaId = text("REPLICA_ID") ?? `${hostname().replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 80)}-${process.pid}-${randomBytes(3).toString("hex")}`;
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(replicaId)) problems.push(`REPLICA_ID must be letters, digits, '.', '-' or '_', at most 100 (got "${replicaId}")`);

  const metricsToken = text("METRICS_TOKEN");
  if (metricsToken !== null && metricsToken.length < 16) problems.push("METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)");
  // The OpenTelemetry SDK's own variable names, so an operator's existing collector setup carries over.
  const otlpEndpoint = url("OTEL_EXPORTER_OTLP_ENDPOINT", ["http:", "https:"]);
  const otlpHeaders = parseOtlpHeaders(text("OTEL_EXPORTER_OTLP_HEADERS"), problems);
  const otel = otlpEndpoint ? { tracesUrl: `${otlpEndpoint}/v1/traces`, headers: otlpHeaders, serviceName: text("OTEL_SERVICE_NAME") ?? "flowyte" } : null;
  const shutdownDelayMs = integer("SHUTDOWN_DELAY_SECONDS", 0, 0, 300) * 1000;

  if (problems.length) throw new ConfigError(problems);
  return {
    port,
    host,
    dataDir,
    databaseUrl,
    adminKey,
    masterKey,
    logLevel: logLevel!,
    publicBaseUrl,
    rateLimitPerMinute,
    maxJsonBodyBytes,
    llm,
    egressAllowlist,
    integrations,
    shopify,
    smtp,
    geocoderUrl,
    modelsDir,
    models,
    meili,
    embeddings,
    knowledgeSearchTimeoutMs,
    ari,
    rtp: { host: rtpHost, portMin: rtpPortMin, portMax: rtpPortMax, mediaFormat },
    speech,
    trunkNumbers,
    talkTokensForKeys,
    trustProxy,
    widgetBotCheck,
    usageRates,
    cacheTtlSeconds,
    defaultPhoneRegion,
    redisUrl,
    replicaId,
    eventRetentionDays,
    metricsToken,
    otel,
    shutdownDelayMs,
  };
}

/** `name=value,name2=value2`, values URL-encoded, as the OpenTelemetry specification defines OTEL_EXPORTER_OTLP_HEADERS. */
function parseOtlpHeaders(value: string | null, problems: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (value ?? "").split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf("=");
    const name = at > 0 ? pair.slice(0, at).trim() : "";
    let decoded: string | null = null;
    try {
      decoded = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {}
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || decoded === null) {
      problems.push(`OTEL_EXPORTER_OTLP_HEADERS must be name=value pairs separated by commas, values URL-encoded (e.g. authorization=Bearer%20abc)`);
      return {};
    }
    headers[name.toLowerCase()] = decoded;
  }
  return headers;
}

/** `voice=5,chat=1`: whole credits per unit by channel; a channel left out costs nothing. */
function parseUsageRates(value: string | null, problems: string[]): UsageRates {
  const rates: UsageRates = { voice: 0, chat: 0, transfer_minute: 0 };
  if (value === null) return rates;
  const seen = new Set<string>();
  for (const pair of value.split(",").map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z_]+)\s*=\s*(\d+)$/.exec(pair);
    const channel = RATED_CHANNELS.find((c) => c === match?.[1]);
    const credits = Number(match?.[2]);
    if (!match || !channel || seen.has(channel) || !Number.isSafeInteger(credits) || credits > MAX_RATE) {
      problems.push(
        `USAGE_RATES must be channel=credits pairs separated by commas, each channel (${RATED_CHANNELS.join(", ")}) at most once, credits a whole number from 0 to ${MAX_RATE} per unit (1 credit = $0.01), e.g. voice=5,chat=1 ("${pair}" is not one)`,
      );
      return { voice: 0, chat: 0, transfer_minute: 0 };
    }
    seen.add(channel);
    rates[channel] = credits;
  }
  return rates;
}

export function parseMasterKey(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, "hex");
  if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(v)) {
    const b = Buffer.from(v.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (b.length === 32) return b;
  }
  return null;
}
