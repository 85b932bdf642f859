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
