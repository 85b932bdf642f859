// Static checks of the deployment files (Dockerfile, compose, Helm chart, .env examples, operator guide).
// Neither Docker, Compose nor Helm runs on the CI machines, so these tests read the files the way those tools
// would and check what can go wrong without running them: names that drift apart, missing health checks,
// template paths into values.yaml that do not exist, a variable the server reads that nobody documents.
import { describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig } from "../../src/config.ts";

const root = resolve(import.meta.dir, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every variable src/config.ts reads, from its `text("NAME")` and `integer("NAME", ...)` calls. */
function configVariables(): string[] {
  const names = new Set<string>();
  for (const m of read("src/config.ts").matchAll(/\b(?:text|integer)\(\s*"([A-Z][A-Z0-9_]*)"/g)) names.add(m[1]!);
  return [...names];
}

/** KEY=value lines of an env file, commented-out ones (`# KEY=value`) included when asked. */
function envFile(path: string, { commented = false } = {}): Map<string, string> {
  const entries = new Map<string, string>();
  const pattern = commented ? /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/;
  for (const line of read(path).split("\n")) {
    const m = pattern.exec(line.trim());
    if (m) entries.set(m[1]!, m[2]!);
  }
  return entries;
}

function parseYamlFile(path: string): unknown {
  const docs = parseAllDocuments(read(path));
  for (const doc of docs) expect(doc.errors.map((e) => `${path}: ${e.message}`)).toEqual([]);
  return docs[0]?.toJS();
}

// ---- compose ---------------------------------------------------------------------------------------------

const COMPOSE = "compose/docker-compose.yml";
const compose = parse(read(COMPOSE)) as { services: Record<string, Dict>; volumes?: Record<string, unknown> };
const services = compose.services;

/** Names Compose interpolates from compose/.env (in values, not comments): ${VAR}, ${VAR:-x}, ${VAR:?msg}…; $$ is a literal $. */
function interpolatedNames(node: unknown, names = new Set<string>()): Set<string> {
  if (typeof node === "string") {
    for (const m of node.replaceAll("$$", "").matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
  } else if (Array.isArray(node)) {
    for (const item of node) interpolatedNames(item, names);
  } else if (isDict(node)) {
    for (const value of Object.values(node)) interpolatedNames(value, names);
  }
  return names;
}

/** Compose's interpolation of one value, enough for the forms these files use. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (_, name: string, colon: string, op: string, arg: string) => {
      const v = env[name];
      const missing = v === undefined || (colon === ":" && v === "");
      if (op === "?" && missing) throw new Error(`${name}: ${arg}`);
      if (op === "-" && missing) return arg;
      return v ?? "";
    })
    .replaceAll("$$", "$");
}

function environmentOf(service: Dict): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry: string) => [entry.split("=")[0]!, entry.slice(entry.indexOf("=") + 1)]));
  }
  return Object.fromEntries(Object.entries((env ?? {}) as Dict).map(([k, v]) => [k, String(v)]));
}

function healthcheckTest(service: Dict): string {
  const hc = service.healthcheck as Dict | undefined;
  const test = hc?.test;
  return Array.isArray(test) ? test.join(" ") : String(test ?? "");
}

describe("compose/docker-compose.yml", () => {
  it("parses as YAML", () => {
    expect(isDict(parseYamlFile(COMPOSE))).toBe(true);
  });

  it("defines the app with postgres, meilisearch, asterisk and ollama", () => {
    expect(Object.keys(services).sort()).toEqual(["app", "asterisk", "meilisearch", "ollama", "postgres"]);
  });

  it("gives every service a health check and a restart policy", () => {
    for (const [name, service] of Object.entries(services)) {
      expect({ name, test: healthcheckTest(service).length > 0 }).toEqual({ name, test: true });
      expect({ name, restart: service.restart }).toEqual({ name, restart: "unless-stopped" });
    }
  });

  it("pins every image to a version", () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build) continue;
      const image = String(service.image);
      expect({ name, image, pinned: /:[^:/]+$/.test(image) && !image.endsWith(":latest") }).toEqual({ name, image, pinned: true });
    }
  });

  it("waits on dependencies through conditions, and on health only where a health check exists", () => {
    const app = services.app!;
    const dependsOn = app.depends_on as Record<string, { condition?: string }>;
    expect(isDict(dependsOn)).toBe(true);
    expect(dependsOn.postgres?.condition).toBe("service_healthy");
    expect(dependsOn.meilisearch?.condition).toBe("service_healthy");
    for (const [name, service] of Object.entries(services)) {
      for (const [target, rule] of Object.entries((service.depends_on ?? {}) as Record<string, { condition?: string }>)) {
        expect(Object.keys(services)).toContain(target);
        expect(["service_healthy", "service_started", "service_completed_successfully"]).toContain(rule.condition!);
        if (rule.condition === "service_healthy") expect({ name, target, hasHealthcheck: healthcheckTest(services[target]!) !== "" }).toEqual({ name, target, hasHealthcheck: true });
      }
    }
  });

  it("declares every named volume the services mount", () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const service of Object.values(services)) {
      for (const volume of (service.volumes ?? []) as (string | Dict)[]) {
        const source = typeof volume === "string" ? volume.split(":")[0]! : String(volume.source);
        if (source.startsWith(".") || source.startsWith("/") || source.startsWith("~")) continue; // a bind mount
        expect(declared).toContain(source);
      }
    }
  });

  it("builds the app from the repository's Dockerfile", () => {
    const build = services.app!.build as { context: string; dockerfile?: string };
    expect(build.context).toBe("..");
    expect(existsSync(resolve(root, "compose", build.context, build.dockerfile ?? "Dockerfile"))).toBe(true);
  });

  it("requires the admin key, the master key and every password from compose/.env", () => {
    const env = environmentOf(services.app!);
    expect(env.FLOWYTE_ADMIN_KEY).toStartWith("${FLOWYTE_ADMIN_KEY:?");
    expect(env.MASTER_KEY).toStartWith("${MASTER_KEY:?");
    expect(env.DATABASE_URL).toContain("${POSTGRES_PASSWORD:?");
    expect(env.MEILI_MASTER_KEY).toStartWith("${MEILI_MASTER_KEY:?");
    expect(env.ARI_PASSWORD).toStartWith("${ARI_PASSWORD:?");
  });

  it("wires the app to the other services by their compose names", () => {
    const env = environmentOf(services.app!);
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/.+@postgres:5432\//);
    expect(env.MEILI_URL).toBe("http://meilisearch:7700");
    expect(env.LLM_BASE_URL).toBe("http://ollama:11434/v1");
    expect(env.ARI_URL).toBe("http://asterisk:8088");
    for (const name of ["ARI_USERNAME", "PUBLIC_BASE_URL", "MODELS_DIR", "DATA_DIR"]) expect(Object.keys(env)).toContain(name);
  });

  it("gives the app an environment that src/config.ts accepts once compose/.env is filled in", () => {
    const dotEnv: Record<string, string> = {
      ...Object.fromEntries(envFile("compose/.env.example")),
      FLOWYTE_ADMIN_KEY: `flowyte_sk_live_${"a1".repeat(32)}`,
      MASTER_KEY: "ab".repeat(32),
      POSTGRES_PASSWORD: "0123456789abcdef",
      MEILI_MASTER_KEY: "0123456789abcdef",
      ARI_PASSWORD: "0123456789abcdef",
    };
    const env = Object.fromEntries(Object.entries(environmentOf(services.app!)).map(([k, v]) => [k, interpolate(v, dotEnv)]));
    const config = loadConfig(env);
    expect(config.databaseUrl).toBe("postgres://flowyte:0123456789abcdef@postgres:5432/flowyte");
    expect(config.port).toBe(3000);
    expect(config.dataDir).toBe("/data");
  });

  it("stops with a message when a required secret is left empty", () => {
    const env = environmentOf(services.app!);
    expect(() => interpolate(env.MASTER_KEY!, { MASTER_KEY: "" })).toThrow(/MASTER_KEY: set MASTER_KEY in compose\/\.env/);
  });

  it("lists every variable it interpolates in compose/.env.example", () => {
    const listed = envFile("compose/.env.example");
    const names = [...interpolatedNames(compose)];
    expect(names).toContain("MASTER_KEY");
    for (const name of names) expect({ name, listed: listed.has(name) }).toEqual({ name, listed: true });
  });

  it("checks postgres with pg_isready and keeps its data in a named volume", () => {
    const postgres = services.postgres!;
    expect(String(postgres.image)).toMatch(/^postgres:16\b/);
    expect(healthcheckTest(postgres)).toContain("pg_isready");
    expect(postgres.volumes as string[]).toContain("postgres-data:/var/lib/postgresql/data");
  });

  it("pins Meilisearch to a 1.x release with its master key from compose/.env", () => {
    const meili = services.meilisearch!;
    expect(String(meili.image)).toMatch(/^getmeili\/meilisearch:v1\.\d+/);
    expect(environmentOf(meili).MEILI_MASTER_KEY).toStartWith("${MEILI_MASTER_KEY:?");
  });

  it("mounts voice/asterisk read-only as Asterisk's config, publishes SIP and RTP, and keeps ARI internal", () => {
    const asterisk = services.asterisk!;
    expect(asterisk.volumes as string[]).toContain("../voice/asterisk:/etc/asterisk:ro");
    const ports = (asterisk.ports ?? []) as string[];
    expect(ports).toContain("5060:5060/udp");
    expect(ports).toContain("10000-10100:10000-10100/udp");
    expect(ports.some((p) => String(p).includes("8088"))).toBe(false);
    expect((asterisk.expose as string[]).map(String)).toContain("8088");
  });

  it("keeps Ollama's models in a named volume", () => {
    expect(services.ollama!.volumes as string[]).toContain("ollama-models:/root/.ollama");
  });
});

// ---- .env examples and the operator guide ----------------------------------------------------------------

describe(".env.example", () => {
  const variables = configVariables();

  it("finds the variables src/config.ts reads", () => {
    // Guards the pattern above: if config.ts changed how it reads variables, the checks below would pass on nothing.
    expect(variables).toContain("PORT");
    expect(variables).toContain("DATABASE_URL");
    expect(variables.length).toBeGreaterThanOrEqual(10);
  });

  it("lists every variable src/config.ts reads in .env.example", () => {
    const listed = envFile(".env.example", { commented: true });
    for (const name of variables) expect({ name, listed: listed.has(name) }).toEqual({ name, listed: true });
  });

  it("explains every variable in .env.example with a comment line above it", () => {
    const lines = read(".env.example").split("\n");
    lines.forEach((line, i) => {
      const m = /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line);
      if (!m) return;
      const above = lines[i - 1] ?? "";
      expect({ name: m[1], explained: above.startsWith("#") && !/^#?\s*[A-Z][A-Z0-9_]*=/.test(above) }).toEqual({ name: m[1], explained: true });
    });
  });

  it("holds only values src/config.ts accepts in .env.example", () => {
    const env = Object.fromEntries(envFile(".env.example"));
    expect(() => loadConfig(env)).not.toThrow();
  });

  it("documents every variable src/config.ts reads in the operator guide", () => {
    const guide = read("docs/operator-guide.md");
    for (const name of variables) expect({ name, documented: guide.includes(`\`${name}\``) }).toEqual({ name, documented: true });
  });
});

describe("docs/operator-guide.md", () => {
  const guide = read("docs/operator-guide.md");

  it("has the sections an operator looks for", () => {
    for (const heading of ["Quick start", "Docker Compose", "Helm", "Configuration", "Running several replicas", "Deadlines and dependency health", "Metrics and traces", "Domain events", "Backup and restore", "Upgrading", "Operator CLI", "Telephony on several replicas", "Connecting a SIP trunk", "Models"]) {
      expect({ heading, present: new RegExp(`^#+ .*${heading}`, "im").test(guide) }).toEqual({ heading, present: true });
    }
  });

  it("shows the commands that exist in package.json", () => {
    const scripts = Object.keys((JSON.parse(read("package.json")) as { scripts: Dict }).scripts);
    for (const m of guide.matchAll(/\bbun run ([a-z][a-z0-9:-]*)/g)) expect(scripts).toContain(m[1]!);
  });
});

// ---- Dockerfile --------------------------------------------------------------------------------------------

const dockerfile = read("Dockerfile");
/** Instructions with continuation lines joined and comments dropped, as Docker reads them. */
const instructions = dockerfile
  .replace(/\\\n/g, "")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM\s/i.test(line)) stages.push([]);
  stages.at(-1)?.push(line);
}
const runtimeStage = stages.at(-1)!;

describe("Dockerfile", () => {
  it("builds every stage on a pinned oven/bun 1.x Debian image", () => {
    const version = /^ARG BUN_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
    expect(version).toMatch(/^1\.\d+\.\d+$/);
    const froms = instructions.filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^FROM oven\/bun:\$\{BUN_VERSION\}-debian AS \w+$/);
  });

  it("installs production dependencies exactly as locked", () => {
    expect(dockerfile).toMatch(/bun install --frozen-lockfile --production/);
    expect(dockerfile).toMatch(/COPY package\.json bun\.lock/);
    // The API docs page serves swagger-ui-dist from node_modules at run time.
    expect(dockerfile).toContain("node_modules/swagger-ui-dist");
    expect(runtimeStage).toContain("COPY --from=deps /app/node_modules ./node_modules");
  });

  it("copies the source with its migrations, the lockfile, plugins and voice into the runtime image", () => {
    expect(runtimeStage).toContain("COPY --from=source /app/src ./src");
    expect(runtimeStage).toContain("COPY --from=source /app/plugins ./plugins");
    expect(runtimeStage).toContain("COPY --from=source /app/voice ./voice");
    expect(runtimeStage.some((l) => l.startsWith("COPY --from=source") && l.includes("/app/package.json") && l.includes("/app/bun.lock"))).toBe(true);
    // The migrations travel inside src/; make sure that is still where the migrator reads them.
    expect(existsSync(join(root, "src/platform/db/migrations/meta/_journal.json"))).toBe(true);
    expect(read("src/platform/db/index.ts")).toContain('join(import.meta.dir, "migrations")');
  });

  it("lets the source files through .dockerignore", () => {
    const rules = read(".dockerignore").split("\n").map((l) => l.trim());
    expect(rules).toContain("*");
    for (const path of ["package.json", "bun.lock", "bunfig.toml", "tsconfig.json", "src/", "plugins/", "voice/"]) expect(rules).toContain(`!${path}`);
    expect(rules).toContain("**/node_modules");
    expect(rules).toContain("**/.env");
  });

  it("runs as a non-root user", () => {
    const users = runtimeStage.filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.split(/\s+/)[1]!.split(":")[0]!;
    expect(["root", "0"]).not.toContain(user);
  });

  it("checks /health with bun, since the image has no curl", () => {
    const healthcheck = runtimeStage.find((l) => /^HEALTHCHECK\s/i.test(l));
    expect(healthcheck).toBeDefined();
    expect(healthcheck).toContain('CMD ["bun", "-e"');
    expect(healthcheck).toContain("http://127.0.0.1:");
    expect(healthcheck).toContain("process.env.PORT");
    expect(healthcheck).toContain("/health");
    expect(healthcheck).not.toContain("curl");
  });

  it("sets the data directory, port, volume and command the server expects", () => {
    const env = runtimeStage.filter((l) => /^ENV\s/i.test(l)).join(" ");
    expect(env).toContain("DATA_DIR=/data");
    expect(env).toContain("PORT=3000");
    expect(env).toContain("HOST=0.0.0.0");
    expect(env).toContain("MODELS_DIR=/models");
    expect(runtimeStage).toContain("VOLUME /data");
    expect(runtimeStage).toContain("EXPOSE 3000");
    expect(runtimeStage.at(-1)).toBe('CMD ["bun", "src/main.ts"]');
    expect(read("package.json")).toContain('"start": "NODE_ENV=production bun src/main.ts"');
    expect(env).toContain("NODE_ENV=production");
  });

  it("installs espeak-ng as the always-available speech fallback", () => {
    expect(runtimeStage.some((l) => l.startsWith("RUN") && /apt-get install[^&]*\bespeak-ng\b/.test(l))).toBe(true);
  });

  describe("model download step", () => {
    const modelsStage = stages.find((s) => /\bAS models$/.test(s[0]!))!;
    const run = modelsStage?.find((l) => l.startsWith("RUN "))?.slice(4) ?? "";

    it("downloads Whisper, Piper, Silero VAD and the embedding model by default", () => {
      expect(modelsStage).toContain("ARG DOWNLOAD_MODELS=true");
      expect(run).toContain('if [ "$DOWNLOAD_MODELS" = "true" ]');
      for (const model of ["whisper", "piper", "silero_vad", "embeddings", "streaming"]) expect(run).toContain(model);
    });

    it("is valid shell", () => {
      const check = spawnSync("sh", ["-n", "-c", run], { encoding: "utf8" });
      expect(check.stderr).toBe("");
      expect(check.status).toBe(0);
    });

    function runStep(downloadModels: string) {
      const dir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
      try {
        const result = spawnSync("sh", ["-c", run.replaceAll("/models", dir)], { encoding: "utf8", env: { PATH: process.env.PATH, DOWNLOAD_MODELS: downloadModels } });
        const made = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()).sort();
        return { status: result.status, made };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it("creates the model folders and downloads nothing when DOWNLOAD_MODELS=false", () => {
      expect(runStep("false")).toEqual({ status: 0, made: ["embeddings", "piper", "streaming", "vad", "whisper"] });
    });

    it("refuses a DOWNLOAD_MODELS value other than true or false", () => {
      expect(runStep("yes").status).not.toBe(0);
    });

    it("copies the models into the runtime image", () => {
      expect(runtimeStage).toContain("COPY --from=models /models /models");
    });
  });
});

// ---- Helm chart --------------------------------------------------------------------------------------------

const CHART = "helm/flowyte";
const templateDir = join(root, CHART, "templates");
const templateFiles = readdirSync(templateDir).sort();
const templates = Object.fromEntries(templateFiles.map((f) => [f, readFileSync(join(templateDir, f), "utf8")]));
const values = parse(read(`${CHART}/values.yaml`)) as Dict;

/** The path's value in values.yaml, or a note of where the path breaks. */
function lookupValue(path: string[]): { found: boolean; at?: string } {
  let node: unknown = values;
  for (const [i, key] of path.entries()) {
    if (!isDict(node) || !(key in node)) return { found: false, at: path.slice(0, i + 1).join(".") };
    node = node[key];
  }
  return { found: true };
}

describe("helm/flowyte", () => {
  it("has a v2 Chart.yaml and a values.yaml that parse", () => {
    const chart = parseYamlFile(`${CHART}/Chart.yaml`) as Dict;
    expect(chart.apiVersion).toBe("v2");
    expect(chart.name).toBe("flowyte");
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof chart.appVersion).toBe("string");
    expect(isDict(parseYamlFile(`${CHART}/values.yaml`))).toBe(true);
  });

  it("has the templates of a complete install", () => {
    for (const file of ["_helpers.tpl", "deployment.yaml", "service.yaml", "configmap.yaml", "secret.yaml", "pvc.yaml", "ingress.yaml", "NOTES.txt", "postgresql-statefulset.yaml", "postgresql-service.yaml"]) {
      expect(templateFiles).toContain(file);
    }
  });

  it("references only .Values paths that exist in values.yaml", () => {
    const missing: string[] = [];
    for (const [file, text] of Object.entries(templates)) {
      for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
        const result = lookupValue(m[1]!.slice(1).split("."));
        if (!result.found) missing.push(`${file}: .Values${m[1]} (no ${result.at})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("balances template braces and block actions in every file", () => {
    for (const [file, text] of Object.entries(templates)) {
      let depth = 0;
      for (const m of text.matchAll(/\{\{|\}\}/g)) {
        depth += m[0] === "{{" ? 1 : -1;
        expect({ file, depth: Math.min(Math.max(depth, 0), 1) === depth }).toEqual({ file, depth: true });
      }
      expect({ file, unclosed: depth }).toEqual({ file, unclosed: 0 });
      const opened = [...text.matchAll(/\{\{-?\s*(?:if|with|range|define|block)\b/g)].length;
      const closed = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
      expect({ file, opened }).toEqual({ file, opened: closed });
    }
  });

  it("includes only templates that _helpers.tpl defines", () => {
    const defined = new Set([...templates["_helpers.tpl"]!.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]!));
    for (const [file, text] of Object.entries(templates)) {
      for (const m of text.matchAll(/\binclude\s+"([^"]+)"/g)) expect({ file, include: m[1], defined: defined.has(m[1]!) }).toEqual({ file, include: m[1], defined: true });
    }
  });

  it("gives every manifest template an apiVersion and a kind", () => {
    for (const [file, text] of Object.entries(templates)) {
      if (!file.endsWith(".yaml")) continue;
      expect({ file, apiVersion: /^apiVersion: \S+$/m.test(text), kind: /^kind: [A-Z]\w+$/m.test(text) }).toEqual({ file, apiVersion: true, kind: true });
    }
  });

  it("probes /health for liveness and /ready for readiness on the http port", () => {
    const probe = (name: string) => (values[name] as { httpGet: { path: string; port: string } }).httpGet;
    expect(probe("livenessProbe")).toEqual({ path: "/health", port: "http" });
    expect(probe("readinessProbe")).toEqual({ path: "/ready", port: "http" });
    expect(templates["deployment.yaml"]).toContain("livenessProbe:");
    expect(templates["deployment.yaml"]).toContain("readinessProbe:");
    expect(templates["deployment.yaml"]).toContain("containerPort: 3000");
  });

  it("runs the server as non-root with resources set", () => {
    const pod = values.podSecurityContext as Dict;
    expect(pod.runAsNonRoot).toBe(true);
    expect(pod.runAsUser).not.toBe(0);
    expect((values.securityContext as Dict).allowPrivilegeEscalation).toBe(false);
    expect(isDict((values.resources as Dict).requests)).toBe(true);
    expect(templates["deployment.yaml"]).toContain(".Values.podSecurityContext");
    expect(templates["deployment.yaml"]).toContain(".Values.resources");
  });

  it("passes settings through the ConfigMap and secrets through the Secret", () => {
    const deployment = templates["deployment.yaml"]!;
    expect(deployment).toContain("configMapRef:");
    for (const name of ["FLOWYTE_ADMIN_KEY", "MASTER_KEY"]) expect(deployment).toContain(`- name: ${name}\n              valueFrom:\n                secretKeyRef:`);
    const secretKeys = values.secretKeys as Dict;
    for (const key of ["adminKey", "masterKey", "databaseUrl"]) {
      expect(Object.keys(secretKeys)).toContain(key);
      expect(templates["secret.yaml"]).toContain(`$keys.${key}`);
    }
    expect(templates["secret.yaml"]).toStartWith("{{- if not .Values.existingSecret }}");
  });

  it("sets every variable src/config.ts reads from the ConfigMap or the Secret", () => {
    const rendered = templates["configmap.yaml"]! + templates["deployment.yaml"]! + templates["_helpers.tpl"]!;
    for (const name of configVariables()) {
      expect({ name, set: new RegExp(`(^\\s*${name}:|name: ${name}\\b|"${name}")`, "m").test(rendered) || String(Object.values(values.secretKeys as Dict)).includes(name) }).toEqual({ name, set: true });
    }
  });

  it("mounts DATA_DIR from a claim when persistence is on and an emptyDir otherwise", () => {
    expect(templates["deployment.yaml"]).toContain("mountPath: /data");
    expect(templates["deployment.yaml"]).toMatch(/persistentVolumeClaim:[\s\S]*emptyDir: \{\}/);
    expect(templates["pvc.yaml"]).toStartWith("{{- if and .Values.persistence.enabled");
  });

  it("renders the bundled Postgres only when postgresql.enabled, with a claim per pod", () => {
    for (const file of ["postgresql-statefulset.yaml", "postgresql-service.yaml", "postgresql-secret.yaml"]) {
      expect(templates[file]).toMatch(/^\{\{- if (and )?\.Values\.postgresql\.enabled/);
    }
    expect(templates["postgresql-statefulset.yaml"]).toContain("volumeClaimTemplates:");
    expect(values.postgresql).toMatchObject({ enabled: false });
    expect(values.externalDatabase).toMatchObject({ url: "", existingSecret: "" });
  });

  it("renders the Ingress only when ingress.enabled", () => {
    expect(templates["ingress.yaml"]).toStartWith("{{- if .Values.ingress.enabled }}");
    expect(templates["ingress.yaml"]).toContain("apiVersion: networking.k8s.io/v1");
  });
});

describe("YAML files", () => {
  it("parse without errors", () => {
    for (const path of [COMPOSE, `${CHART}/Chart.yaml`, `${CHART}/values.yaml`]) parseYamlFile(path);
  });
});
