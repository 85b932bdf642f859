import { describe, expect, it } from "bun:test";
import { ConfigError, loadConfig } from "../src/config.ts";

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
};

describe("configuration", () => {
  it("has working defaults for a fresh machine", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, databaseUrl: null, adminKey: null, masterKey: null, logLevel: "info", publicBaseUrl: "http://localhost:3000", rateLimitPerMinute: 1200 });
    expect(c.dataDir.endsWith("/data")).toBe(true);
  });

  it("reads every setting", () => {
    const c = loadConfig({
      PORT: "8080",
      DATA_DIR: "/var/lib/flowyte",
      DATABASE_URL: "postgres://u@db:5432/flowyte",
      FLOWYTE_ADMIN_KEY: "flowyte_sk_live_" + "a".repeat(40),
      MASTER_KEY: "ab".repeat(32),
      LOG_LEVEL: "debug",
      PUBLIC_BASE_URL: "https://agents.example.com/",
      RATE_LIMIT_PER_MINUTE: "0",
    });
    expect(c).toMatchObject({ port: 8080, dataDir: "/var/lib/flowyte", databaseUrl: "postgres://u@db:5432/flowyte", logLevel: "debug", publicBaseUrl: "https://agents.example.com", rateLimitPerMinute: 0 });
    expect(c.masterKey!.length).toBe(32);
  });

  it("names each bad variable", () => {
    const problems = problemsOf({ PORT: "eighty", DATABASE_URL: "mysql://x", FLOWYTE_ADMIN_KEY: "secret", MASTER_KEY: "short", LOG_LEVEL: "loud", PUBLIC_BASE_URL: "ftp://x" });
    expect(problems.map((p) => p.split(" ")[0])).toEqual(["PORT", "DATABASE_URL", "FLOWYTE_ADMIN_KEY", "MASTER_KEY", "LOG_LEVEL", "PUBLIC_BASE_URL"]);
  });

  it("names each replica (REPLICA_ID, else one of its own per process) and gives telephony a lease of ARI_LEASE_SECONDS", () => {
    const [one, two] = [loadConfig({}), loadConfig({})];
    expect(one.replicaId).toMatch(/^[A-Za-z0-9_.-]+-\d+-[0-9a-f]{6}$/);
    expect(one.replicaId).not.toBe(two.replicaId);
    const ari = { ARI_URL: "http://asterisk:8088", ARI_USERNAME: "flowyte", ARI_PASSWORD: "secret" };
    expect(loadConfig({ ...ari, REPLICA_ID: "flowyte-7d9f-abcde" })).toMatchObject({ replicaId: "flowyte-7d9f-abcde", ari: { leaseSeconds: 10 } });
    expect(loadConfig({ ...ari, ARI_LEASE_SECONDS: "4" }).ari!.leaseSeconds).toBe(4);
    expect(problemsOf({ ...ari, ARI_LEASE_SECONDS: "1" })[0]).toStartWith("ARI_LEASE_SECONDS must be an integer between 2 and 300");
    expect(problemsOf({ REPLICA_ID: "pod 1" })[0]).toStartWith("REPLICA_ID must be");
  });

  it("trusts no proxy unless TRUST_PROXY counts them, and refuses a yes that would trust every X-Forwarded-For entry", () => {
    expect(loadConfig({}).trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: "1" }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "false" }).trustProxy).toBe(0);
    for (const bad of ["true", "-1", "11", "one"]) {
      const [problem] = problemsOf({ TRUST_PROXY: bad });
      expect(problem).toStartWith("TRUST_PROXY must be the number of reverse proxies");
      expect(problem).toContain(`(got "${bad}")`);
    }
  });

  it("turns the widget bot check on with a siteverify URL and its secret, and names whichever of the two is missing", () => {
    expect(loadConfig({}).widgetBotCheck).toBeNull();
    expect(loadConfig({ WIDGET_BOT_CHECK_URL: "https://challenges.cloudflare.com/turnstile/v0/siteverify", WIDGET_BOT_CHECK_SECRET: "0x4AAA-secret" }).widgetBotCheck).toEqual({
      url: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
      secret: "0x4AAA-secret",
    });
    expect(problemsOf({ WIDGET_BOT_CHECK_URL: "https://hcaptcha.com/siteverify" })).toEqual([expect.stringMatching(/^WIDGET_BOT_CHECK_SECRET is required when WIDGET_BOT_CHECK_URL is set/)]);
    expect(problemsOf({ WIDGET_BOT_CHECK_SECRET: "0x4AAA-secret" })).toEqual([expect.stringMatching(/^WIDGET_BOT_CHECK_URL is required when WIDGET_BOT_CHECK_SECRET is set/)]);
    expect(problemsOf({ WIDGET_BOT_CHECK_URL: "challenges.cloudflare.com", WIDGET_BOT_CHECK_SECRET: "s" })[0]).toStartWith("WIDGET_BOT_CHECK_URL must be a http or https URL");
  });

  it("charges nothing for usage unless USAGE_RATES sets whole credits per unit, and names what is wrong with a bad one", () => {
    expect(loadConfig({}).usageRates).toEqual({ voice: 0, chat: 0, transfer_minute: 0 });
    expect(loadConfig({ USAGE_RATES: "voice=5, chat=1,transfer_minute=3" }).usageRates).toEqual({ voice: 5, chat: 1, transfer_minute: 3 });
    expect(loadConfig({ USAGE_RATES: "chat=2," }).usageRates).toEqual({ voice: 0, chat: 2, transfer_minute: 0 });
    for (const [bad, part] of [["voice=0.5", "voice=0.5"], ["sms=1", "sms=1"], ["voice=-1", "voice=-1"], ["voice=5,voice=6", "voice=6"], ["voice", "voice"], ["chat=100001", "chat=100001"]]) {
      const [problem] = problemsOf({ USAGE_RATES: bad! });
      expect(problem).toStartWith("USAGE_RATES must be channel=credits pairs separated by commas");
      expect(problem).toContain(`("${part}" is not one)`);
    }
  });

  it("reads the cluster settings: cache TTL, Redis for rate limits, and a replica id that is unique unless set", () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({ cacheTtlSeconds: 30, redisUrl: null });
    expect(defaults.replicaId).not.toBe(loadConfig({}).replicaId);
    expect(loadConfig({ CACHE_TTL_SECONDS: "5", REDIS_URL: "redis://cache:6379/0", REPLICA_ID: "flowyte-0" })).toMatchObject({
      cacheTtlSeconds: 5,
      redisUrl: "redis://cache:6379/0",
      replicaId: "flowyte-0",
    });
    expect(problemsOf({ CACHE_TTL_SECONDS: "0", REDIS_URL: "http://cache", REPLICA_ID: "two words" }).map((p) => p.split(" ")[0])).toEqual([
      "CACHE_TTL_SECONDS",
      "REDIS_URL",
      "REPLICA_ID",
    ]);
  });

  it("reads numbers without + in DEFAULT_PHONE_REGION (US unless set), and refuses a region that is no country", () => {
    expect(loadConfig({}).defaultPhoneRegion).toBe("US");
    expect(loadConfig({ DEFAULT_PHONE_REGION: "gb" }).defaultPhoneRegion).toBe("GB");
    expect(problemsOf({ DEFAULT_PHONE_REGION: "UK" })).toEqual(['DEFAULT_PHONE_REGION must be an ISO 3166 two-letter country code such as US, GB or DE (got "UK")']);
  });

  it("gives every call to another system a deadline, and refuses one out of range", () => {
    const servers = { LLM_BASE_URL: "http://llm:11434/v1", LLM_MODEL: "m", MEILI_URL: "http://meili:7700", EMBEDDINGS_BASE_URL: "http://emb/v1", EMBEDDINGS_MODEL: "e", SPEECH_BASE_URL: "http://speech/v1" };
    expect(loadConfig(servers)).toMatchObject({ llm: { timeoutMs: 30_000 }, meili: { timeoutMs: 10_000 }, embeddings: { timeoutMs: 30_000 }, speech: { timeoutMs: 10_000 }, knowledgeSearchTimeoutMs: 2000 });
    const set = loadConfig({ ...servers, LLM_TIMEOUT_MS: "5000", MEILI_TIMEOUT_MS: "800", EMBEDDINGS_TIMEOUT_MS: "900", SPEECH_TIMEOUT_MS: "700", KNOWLEDGE_SEARCH_TIMEOUT_MS: "300" });
    expect(set).toMatchObject({ llm: { timeoutMs: 5000 }, meili: { timeoutMs: 800 }, embeddings: { timeoutMs: 900 }, speech: { timeoutMs: 700 }, knowledgeSearchTimeoutMs: 300 });
    expect(problemsOf({ LLM_TIMEOUT_MS: "0", KNOWLEDGE_SEARCH_TIMEOUT_MS: "soon" })).toEqual(["LLM_TIMEOUT_MS must be an integer between 100 and 600000 (got \"0\")", 'KNOWLEDGE_SEARCH_TIMEOUT_MS must be an integer between 50 and 60000 (got "soon")']);
  });

  it("reads metrics, tracing and draining settings, the OpenTelemetry variables with their specified syntax", () => {
    expect(loadConfig({})).toMatchObject({ metricsToken: null, otel: null, shutdownDelayMs: 0 });
    const c = loadConfig({
      METRICS_TOKEN: "0123456789abcdef",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector:4318/",
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc, x-scope-orgid=tenant%2C1",
      OTEL_SERVICE_NAME: "flowyte-eu",
      SHUTDOWN_DELAY_SECONDS: "5",
    });
    expect(c).toMatchObject({
      metricsToken: "0123456789abcdef",
      otel: { tracesUrl: "http://otel-collector:4318/v1/traces", headers: { authorization: "Bearer abc", "x-scope-orgid": "tenant,1" }, serviceName: "flowyte-eu" },
      shutdownDelayMs: 5000,
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }).otel).toEqual({ tracesUrl: "http://c:4318/v1/traces", headers: {}, serviceName: "flowyte" });
    expect(problemsOf({ METRICS_TOKEN: "short" })).toEqual(["METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)"]);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://c:4317" })[0]).toStartWith("OTEL_EXPORTER_OTLP_ENDPOINT must be a http or https URL");
    for (const bad of ["no-equals-sign", "=value", "bad name=x", "k=%E0%A4%A"]) {
      expect(problemsOf({ OTEL_EXPORTER_OTLP_HEADERS: bad })[0]).toStartWith("OTEL_EXPORTER_OTLP_HEADERS must be name=value pairs");
    }
    expect(problemsOf({ SHUTDOWN_DELAY_SECONDS: "301" })[0]).toStartWith("SHUTDOWN_DELAY_SECONDS must be an integer between 0 and 300");
  });

  it("makes `bun start` exit non-zero with the message on a bad value", async () => {
    const proc = Bun.spawn(["bun", "src/main.ts"], { env: { ...process.env, PORT: "99999", DATABASE_URL: "" }, stderr: "pipe", stdout: "pipe" });
    const code = await proc.exited;
    expect(code).toBe(2);
    expect(await new Response(proc.stderr).text()).toContain("PORT must be an integer between 0 and 65535");
  });
});
