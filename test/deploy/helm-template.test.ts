// The Helm chart rendered by the real `helm template` (skipped when helm is not installed; .ci/run installs it):
// every combination an operator is told about renders to manifests that parse, and the Asterisk part carries the
// same configuration compose mounts, with the server pointed at it.
import { describe, expect, it } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

const root = join(import.meta.dir, "../..");
const chart = join(root, "helm/flowyte");
const helm = Bun.which("helm");
if (!helm) console.warn("helm is not installed: skipping the chart rendering tests (.ci/run installs it)");

type Manifest = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: any };

function render(...sets: string[]): Manifest[] {
  const result = spawnSync(helm!, ["template", "t", chart, ...sets.flatMap((s) => ["--set", s])], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(result.stderr);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function renderError(...sets: string[]): string {
  const result = spawnSync(helm!, ["template", "t", chart, ...sets.flatMap((s) => ["--set", s])], { encoding: "utf8" });
  expect(result.status).not.toBe(0);
  return result.stderr;
}

const find = (manifests: Manifest[], kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);

describe.skipIf(!helm)("helm template helm/flowyte", () => {
  it("passes helm lint, with and without Asterisk", () => {
    for (const sets of [[], ["asterisk.enabled=true", "postgresql.enabled=true"]]) {
      const lint = spawnSync(helm!, ["lint", chart, ...sets.flatMap((s) => ["--set", s])], { encoding: "utf8" });
      expect({ sets, status: lint.status, out: lint.status ? lint.stdout : "" }).toEqual({ sets, status: 0, out: "" });
    }
  });

  it("renders embedded storage by default, and the bundled Postgres when asked", () => {
    const plain = render();
    expect(plain.map((m) => m.kind).sort()).toEqual(["ConfigMap", "Deployment", "PersistentVolumeClaim", "Secret", "Service"]);
    const withPostgres = render("postgresql.enabled=true");
    expect(find(withPostgres, "StatefulSet", "t-flowyte-postgresql")).toBeDefined();
    expect(renderError("replicaCount=2")).toContain("replicaCount > 1 needs Postgres");
  });

  it("runs several replicas only with Postgres, Meilisearch and no shared ReadWriteOnce volume", () => {
    const shared = ["replicaCount=3", "postgresql.enabled=true", "persistence.enabled=false"];
    expect(renderError(...shared)).toContain("replicaCount > 1 needs Meilisearch");
    const manifests = render(...shared, "config.meiliUrl=http://meilisearch:7700");
    expect(find(manifests, "Deployment", "t-flowyte")!.spec.replicas).toBe(3);
    expect(find(manifests, "ConfigMap", "t-flowyte")!.data!.MEILI_URL).toBe("http://meilisearch:7700");
  });

  it("trusts X-Forwarded-For from the chart's ingress only, unless config.trustProxy says how many proxies there are", () => {
    const trustProxy = (...sets: string[]) => find(render(...sets), "ConfigMap", "t-flowyte")!.data!.TRUST_PROXY;
    expect(trustProxy()).toBe("0");
    expect(trustProxy("ingress.enabled=true")).toBe("1");
    expect(trustProxy("ingress.enabled=true", "config.trustProxy=2")).toBe("2");
    expect(trustProxy("config.trustProxy=0", "ingress.enabled=true")).toBe("0");
  });

  it("turns the widget's bot check on with its siteverify URL in the ConfigMap and its secret in the Secret", () => {
    expect(renderError("config.widgetBotCheckUrl=https://challenges.cloudflare.com/turnstile/v0/siteverify")).toContain("needs secrets.widgetBotCheckSecret");
    const manifests = render("config.widgetBotCheckUrl=https://challenges.cloudflare.com/turnstile/v0/siteverify", "secrets.widgetBotCheckSecret=0x4AAA");
    expect(find(manifests, "ConfigMap", "t-flowyte")!.data!.WIDGET_BOT_CHECK_URL).toBe("https://challenges.cloudflare.com/turnstile/v0/siteverify");
    expect(Buffer.from(find(manifests, "Secret", "t-flowyte")!.data!.WIDGET_BOT_CHECK_SECRET!, "base64").toString()).toBe("0x4AAA");
    const env = find(manifests, "Deployment", "t-flowyte")!.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "WIDGET_BOT_CHECK_SECRET", valueFrom: { secretKeyRef: { name: "t-flowyte", key: "WIDGET_BOT_CHECK_SECRET", optional: true } } });
  });

  it("leaves Asterisk out unless asterisk.enabled", () => {
    const plain = render();
    expect(plain.some((m) => m.metadata.name.includes("asterisk"))).toBe(false);
    expect(find(plain, "ConfigMap", "t-flowyte")!.data!.ARI_URL).toBeUndefined();
  });

  it("runs Asterisk from voice/asterisk's configuration, with the trunk in a Secret and the server pointed at it", () => {
    const trunk = "[trunk]\ntype = endpoint\n";
    const manifests = render("asterisk.enabled=true", `asterisk.trunk.config=${trunk}`, "asterisk.rtpPortMin=12000", "asterisk.rtpPortMax=12040");
    expect(realpathSync(join(chart, "files/asterisk"))).toBe(realpathSync(join(root, "voice/asterisk")));

    const config = find(manifests, "ConfigMap", "t-flowyte-asterisk")!.data!;
    const files = readdirSync(join(root, "voice/asterisk")).filter((f) => !f.startsWith(".") && !f.endsWith(".example") && f !== "pjsip_trunk.conf");
    expect(Object.keys(config).sort()).toEqual(files.sort());
    for (const f of files.filter((f) => f !== "rtp.conf")) expect(config[f]).toBe(readFileSync(join(root, "voice/asterisk", f), "utf8"));
    expect(config["rtp.conf"]).toMatch(/^rtpstart = 12000$/m);
    expect(config["rtp.conf"]).toMatch(/^rtpend = 12040$/m);

    const trunkSecret = find(manifests, "Secret", "t-flowyte-asterisk-trunk")!;
    expect(Buffer.from(trunkSecret.data!["pjsip_trunk.conf"]!, "base64").toString()).toBe(trunk);

    const asterisk = find(manifests, "Deployment", "t-flowyte-asterisk")!.spec.template.spec;
    expect(asterisk.hostNetwork).toBe(true);
    const container = asterisk.containers[0];
    expect(container.env.find((e: any) => e.name === "ARI_PASSWORD").valueFrom.secretKeyRef).toEqual({ name: "t-flowyte", key: "ARI_PASSWORD" });
    expect(container.volumeMounts.find((v: any) => v.name === "config")).toMatchObject({ mountPath: "/etc/asterisk", readOnly: true });
    const sources = asterisk.volumes.find((v: any) => v.name === "config").projected.sources;
    expect(sources.map((s: any) => s.configMap?.name ?? s.secret?.name)).toEqual(["t-flowyte-asterisk", "t-flowyte-asterisk-trunk"]);

    // The server: ARI on Asterisk's Service, the generated password from the shared Secret, RTP to its own pod IP.
    const server = find(manifests, "ConfigMap", "t-flowyte")!.data!;
    expect(server.ARI_URL).toBe("http://t-flowyte-asterisk:8088");
    expect(server.ARI_USERNAME).toBe("flowyte");
    expect(find(manifests, "Service", "t-flowyte-asterisk")!.spec.ports).toEqual([{ name: "ari", port: 8088, targetPort: "ari", protocol: "TCP" }]);
    const password = Buffer.from(find(manifests, "Secret", "t-flowyte")!.data!.ARI_PASSWORD!, "base64").toString();
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    const serverEnv = find(manifests, "Deployment", "t-flowyte")!.spec.template.spec.containers[0].env;
    expect(serverEnv.find((e: any) => e.name === "RTP_HOST").valueFrom.fieldRef.fieldPath).toBe("status.podIP");
  });

  it("publishes SIP and every RTP port through a Service when Asterisk is off the node's network", () => {
    const manifests = render("asterisk.enabled=true", "asterisk.hostNetwork=false", "asterisk.sipService.enabled=true", "asterisk.rtpPortMin=10000", "asterisk.rtpPortMax=10009");
    expect(find(manifests, "Deployment", "t-flowyte-asterisk")!.spec.template.spec.hostNetwork).toBeUndefined();
    const sip = find(manifests, "Service", "t-flowyte-asterisk-sip")!.spec;
    expect(sip.type).toBe("LoadBalancer");
    expect(sip.externalTrafficPolicy).toBe("Local");
    expect(sip.ports.map((p: any) => `${p.port}/${p.protocol}`)).toEqual(["5060/UDP", ...Array.from({ length: 10 }, (_, i) => `${10000 + i}/UDP`)]);
  });

  const cluster = ["postgresql.enabled=true", "persistence.enabled=false", "config.meiliUrl=http://meilisearch:7700"];

  it("scales with a HorizontalPodAutoscaler when autoscaling.enabled, leaving the replica count to it", () => {
    expect(find(render(), "HorizontalPodAutoscaler", "t-flowyte")).toBeUndefined();
    expect(renderError("autoscaling.enabled=true")).toContain("needs Postgres");
    expect(renderError("autoscaling.enabled=true", "postgresql.enabled=true", "persistence.enabled=false")).toContain("needs Meilisearch");
    expect(renderError(...cluster, "autoscaling.enabled=true", "autoscaling.minReplicas=4", "autoscaling.maxReplicas=3")).toContain("minReplicas must not exceed");
    const manifests = render(...cluster, "autoscaling.enabled=true", "autoscaling.targetMemoryUtilizationPercentage=80");
    const hpa = find(manifests, "HorizontalPodAutoscaler", "t-flowyte")!;
    expect(hpa.spec).toMatchObject({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "t-flowyte" }, minReplicas: 2, maxReplicas: 5 });
    expect(hpa.spec.metrics.map((m: any) => [m.resource.name, m.resource.target.averageUtilization])).toEqual([["cpu", 70], ["memory", 80]]);
    expect(find(manifests, "Deployment", "t-flowyte")!.spec.replicas).toBeUndefined();
  });

  it("keeps replicas up through node drains with a PodDisruptionBudget whenever more than one may run, or when asked", () => {
    const pdb = (...sets: string[]) => find(render(...sets), "PodDisruptionBudget", "t-flowyte");
    expect(pdb()).toBeUndefined();
    const selector = find(render(), "Deployment", "t-flowyte")!.spec.selector;
    expect(pdb(...cluster, "replicaCount=2")!.spec).toEqual({ minAvailable: 1, selector });
    expect(pdb(...cluster, "autoscaling.enabled=true")!.spec.minAvailable).toBe(1);
    expect(pdb(...cluster, "replicaCount=3", "podDisruptionBudget.maxUnavailable=1")!.spec).toEqual({ maxUnavailable: 1, selector });
    expect(pdb(...cluster, "replicaCount=2", "podDisruptionBudget.enabled=false")).toBeUndefined();
    expect(pdb("podDisruptionBudget.enabled=true", "podDisruptionBudget.minAvailable=0")!.spec.minAvailable).toBe(0);
  });

  it("renders a ServiceMonitor for /metrics only when asked, sending the metrics token when there is one", () => {
    expect(render().some((m) => m.kind === "ServiceMonitor")).toBe(false);
    const plain = find(render("metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=kube-prometheus"), "ServiceMonitor", "t-flowyte")!;
    expect((plain as any).metadata.labels.release).toBe("kube-prometheus");
    expect(plain.spec.selector.matchLabels).toEqual(find(render(), "Service", "t-flowyte")!.spec.selector);
    expect(plain.spec.endpoints).toEqual([{ port: "http", path: "/metrics", interval: "30s", scrapeTimeout: "10s" }]);

    const manifests = render("metrics.serviceMonitor.enabled=true", "secrets.metricsToken=0123456789abcdef0123");
    expect(find(manifests, "ServiceMonitor", "t-flowyte")!.spec.endpoints[0].authorization).toEqual({ type: "Bearer", credentials: { name: "t-flowyte", key: "METRICS_TOKEN" } });
    expect(Buffer.from(find(manifests, "Secret", "t-flowyte")!.data!.METRICS_TOKEN!, "base64").toString()).toBe("0123456789abcdef0123");
    const env = find(manifests, "Deployment", "t-flowyte")!.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "METRICS_TOKEN", valueFrom: { secretKeyRef: { name: "t-flowyte", key: "METRICS_TOKEN", optional: true } } });
    const mine = find(render("existingSecret=mine", "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.tokenFromExistingSecret=true"), "ServiceMonitor", "t-flowyte")!;
    expect(mine.spec.endpoints[0].authorization.credentials).toEqual({ name: "mine", key: "METRICS_TOKEN" });
  });

  it("sends traces to the collector named in config.otelExporterOtlpEndpoint, its headers from the Secret", () => {
    expect(find(render(), "ConfigMap", "t-flowyte")!.data!.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    const manifests = render("config.otelExporterOtlpEndpoint=http://otel-collector:4318", "config.otelServiceName=flowyte-eu", "secrets.otlpHeaders=authorization=Bearer%20abc");
    expect(find(manifests, "ConfigMap", "t-flowyte")!.data).toMatchObject({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector:4318", OTEL_SERVICE_NAME: "flowyte-eu" });
    expect(Buffer.from(find(manifests, "Secret", "t-flowyte")!.data!.OTEL_EXPORTER_OTLP_HEADERS!, "base64").toString()).toBe("authorization=Bearer%20abc");
  });

  it("drains a stopping pod: /ready fails for config.shutdownDelaySeconds, checked often enough to notice, within the grace period", () => {
    const manifests = render();
    expect(find(manifests, "ConfigMap", "t-flowyte")!.data!.SHUTDOWN_DELAY_SECONDS).toBe("5");
    const pod = find(manifests, "Deployment", "t-flowyte")!.spec.template.spec;
    const probe = pod.containers[0].readinessProbe;
    expect(probe.httpGet).toEqual({ path: "/ready", port: "http" });
    expect(probe.periodSeconds * probe.failureThreshold).toBeLessThanOrEqual(5);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(5);
    expect(renderError("config.shutdownDelaySeconds=30")).toContain("shorter than terminationGracePeriodSeconds");
  });

  it("refuses two trunk sources", () => {
    expect(renderError("asterisk.enabled=true", "asterisk.trunk.config=x", "asterisk.trunk.existingSecret=mine")).toContain("choose one trunk source");
  });
});
