// The Asterisk configuration in voice/asterisk, which docker compose mounts read-only as /etc/asterisk: parsed
// as Asterisk's config format and checked against what the bridge and compose expect. No Asterisk runs here.
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../../src/config.ts";
import { DEFAULT_SETTINGS } from "../../../voice/ari/index.ts";

const root = resolve(import.meta.dir, "../../..");
const folder = join(root, "voice/asterisk");

interface Section {
  name: string;
  /** Templates it inherits from: [name](tmpl1,tmpl2). */
  templates: string[];
  /** [name](!) */
  isTemplate: boolean;
  /** [name](+) adds to the section of that name defined before. */
  append: boolean;
  entries: [key: string, value: string][];
}

interface ConfigFile {
  sections: Section[];
  /** #include, #tryinclude, #exec lines. */
  directives: string[];
}

/** Asterisk's config format: [sections](options), key = value or key => value, ; comments (\; escapes), #directives. */
function parseConfig(text: string): ConfigFile {
  const file: ConfigFile = { sections: [], directives: [] };
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.replace(/(?<!\\);.*$/, "").trim();
    if (!line) continue;
    if (line.startsWith("#")) {
      file.directives.push(line);
      continue;
    }
    const header = /^\[([^\]]+)\](?:\(([^)]*)\))?$/.exec(line);
    if (header) {
      const options = (header[2] ?? "").split(",").map((o) => o.trim()).filter(Boolean);
      file.sections.push({
        name: header[1]!,
        templates: options.filter((o) => o !== "!" && o !== "+"),
        isTemplate: options.includes("!"),
        append: options.includes("+"),
        entries: [],
      });
      continue;
    }
    const entry = /^([^=]+?)\s*=>?\s*(.*)$/.exec(line);
    const section = file.sections.at(-1);
    if (!entry || !section) throw new Error(`line ${index + 1} is not Asterisk config: ${raw}`);
    section.entries.push([entry[1]!, entry[2]!]);
  }
  return file;
}

function read(name: string): string {
  return readFileSync(join(folder, name), "utf8");
}

function config(name: string): ConfigFile {
  return parseConfig(read(name));
}

function section(file: ConfigFile, name: string): Section {
  const found = file.sections.find((s) => s.name === name);
  if (!found) throw new Error(`no [${name}]`);
  return found;
}

function values(s: Section, key: string): string[] {
  return s.entries.filter(([k]) => k === key).map(([, v]) => v);
}

function value(s: Section, key: string): string | undefined {
  return values(s, key).at(-1);
}

/** PJSIP objects after templates and (+) additions, keyed by "type/name" (one name may hold several types). */
function pjsipObjects(...files: ConfigFile[]): Map<string, Map<string, string>> {
  const sections = files.flatMap((f) => f.sections);
  const templates = new Map(sections.filter((s) => s.isTemplate).map((s) => [s.name, s]));
  const objects: { name: string; entries: [string, string][] }[] = [];
  for (const s of sections) {
    if (s.isTemplate) continue;
    if (s.append) {
      const target = objects.findLast((o) => o.name === s.name);
      if (!target) throw new Error(`[${s.name}](+) adds to a section that does not exist`);
      target.entries.push(...s.entries);
      continue;
    }
    const inherited = s.templates.flatMap((t) => {
      const template = templates.get(t);
      if (!template) throw new Error(`[${s.name}] uses the unknown template ${t}`);
      return template.entries;
    });
    objects.push({ name: s.name, entries: [...inherited, ...s.entries] });
  }
  return new Map(objects.map((o) => [`${new Map(o.entries).get("type")}/${o.name}`, new Map(o.entries)]));
}

const composeAsterisk = (parse(readFileSync(join(root, "compose/docker-compose.yml"), "utf8")) as { services: Record<string, { ports: string[] }> }).services.asterisk!;
const defaultApp = loadConfig({ ARI_URL: "http://asterisk:8088", ARI_USERNAME: "u", ARI_PASSWORD: "p" }).ari!.app;

describe("voice/asterisk", () => {
  it("parses every file as Asterisk's config format", () => {
    const files = readdirSync(folder).filter((f) => f.endsWith(".conf") || f.endsWith(".example"));
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const name of files) expect(() => config(name)).not.toThrow();
  });

  it("loads everything and refuses to start without ARI, Stasis, PJSIP and externalMedia", () => {
    const modules = section(config("modules.conf"), "modules");
    expect(value(modules, "autoload")).toBe("yes");
    const required = values(modules, "require");
    for (const module of [
      "res_http_websocket.so",
      "res_ari.so",
      "res_ari_channels.so",
      "res_ari_bridges.so",
      "res_ari_events.so",
      "res_ari_playbacks.so",
      "res_stasis.so",
      "app_stasis.so",
      "chan_pjsip.so",
      "res_pjsip.so",
      "res_pjsip_outbound_registration.so",
      "res_pjsip_endpoint_identifier_ip.so",
      "chan_rtp.so",
      "codec_ulaw.so",
      "codec_alaw.so",
      "pbx_config.so",
    ]) {
      expect(required).toContain(module);
    }
  });

  it("serves ARI on 8088 on every interface of the container, as compose expects", () => {
    const http = section(config("http.conf"), "general");
    expect([value(http, "enabled"), value(http, "bindaddr"), value(http, "bindport")]).toEqual(["yes", "0.0.0.0", "8088"]);
    expect(section(config("ari.conf"), "general").entries).toContainEqual(["enabled", "yes"]);
  });

  it("takes the ARI user from the container's environment, never from a file", () => {
    expect(config("ari.conf").directives).toEqual(["#exec /bin/sh /etc/asterisk/ari-user.sh"]);
    expect(value(section(config("asterisk.conf"), "options"), "execincludes")).toBe("yes");
    for (const name of readdirSync(folder).filter((f) => f.endsWith(".conf"))) {
      expect({ name, passwords: config(name).sections.flatMap((s) => values(s, "password")) }).toEqual({ name, passwords: [] });
    }

    const printed = Bun.spawnSync(["sh", join(folder, "ari-user.sh")], { env: { ARI_USERNAME: "flowyte", ARI_PASSWORD: "0123abcd" } });
    expect(printed.exitCode).toBe(0);
    const user = section(parseConfig(printed.stdout.toString()), "flowyte");
    expect(Object.fromEntries(user.entries)).toEqual({ type: "user", read_only: "no", password_format: "plain", password: "0123abcd" });
    // Without ARI_USERNAME, the same default user compose gives the server (${ARI_USERNAME:-flowyte}).
    const byDefault = Bun.spawnSync(["sh", join(folder, "ari-user.sh")], { env: { ARI_PASSWORD: "x" } });
    expect(parseConfig(byDefault.stdout.toString()).sections.map((s) => s.name)).toEqual(["flowyte"]);

    for (const env of [{}, { ARI_PASSWORD: "" }, { ARI_PASSWORD: "half;cut" }]) {
      const refused = Bun.spawnSync(["sh", join(folder, "ari-user.sh")], { env });
      expect({ env, exit: refused.exitCode, stdout: refused.stdout.toString() }).toEqual({ env, exit: 1, stdout: "" });
      expect(refused.stderr.toString()).toContain("ARI_");
    }
  });

  it("uses the RTP range compose publishes", () => {
    const rtp = section(config("rtp.conf"), "general");
    const published = composeAsterisk.ports.find((p) => p.endsWith("/udp") && p.includes("-"))!;
    const [start, end] = published.split(":")[0]!.split("-");
    expect([value(rtp, "rtpstart"), value(rtp, "rtpend")]).toEqual([start, end]);
  });

  it("sends every trunk call to the Stasis application ARI_APP names by default, with the dialed number", () => {
    const dialplan = config("extensions.conf");
    expect(value(section(dialplan, "globals"), "FLOWYTE_APP")).toBe(defaultApp);
    const inbound = section(dialplan, "from-trunk");
    const stasis = inbound.entries.filter(([key, v]) => key === "exten" && v.includes("Stasis("));
    expect(stasis.map(([, v]) => v)).toEqual(["_[+0-9].,1,Stasis(${FLOWYTE_APP},${EXTEN})", "s,1,Stasis(${FLOWYTE_APP})"]);
    const transfer = section(dialplan, "flowyte-transfer");
    expect(transfer.entries[0]![1]).toContain("Dial(PJSIP/${EXTEN}@trunk)");
  });

  it("rings a caller while no replica holds the application for longer than a standby takes to take it over", () => {
    const dialplan = config("extensions.conf");
    const { leaseSeconds } = loadConfig({ ARI_URL: "http://asterisk:8088", ARI_USERNAME: "flowyte", ARI_PASSWORD: "secret" }).ari!;
    // The standby tries every second and takes over once the lease has expired.
    expect(Number(value(section(dialplan, "globals"), "FLOWYTE_STASIS_WAIT"))).toBeGreaterThan(leaseSeconds + 2);
    const steps = section(dialplan, "from-trunk").entries.map(([, v]) => v);
    expect(steps).toContain("n(ring),Ringing()");
    // Stasis again with the dialed number, after the first try at priority 1.
    expect(steps.filter((v) => v.startsWith("n,Stasis(") && v.includes("EXTEN"))).toHaveLength(1);
  });

  it("listens for SIP on UDP 5060 with a trunk template that keeps media in Asterisk", () => {
    const pjsip = config("pjsip.conf");
    const transport = section(pjsip, "transport-udp");
    expect([value(transport, "type"), value(transport, "protocol"), value(transport, "bind")]).toEqual(["transport", "udp", "0.0.0.0:5060"]);
    expect(composeAsterisk.ports).toContain("5060:5060/udp");
    const trunk = section(pjsip, "flowyte-trunk");
    expect(trunk.isTemplate).toBe(true);
    expect(Object.fromEntries(trunk.entries)).toMatchObject({
      type: "endpoint",
      context: "from-trunk",
      disallow: "all",
      allow: "ulaw,alaw",
      direct_media: "no",
      transport: "transport-udp",
    });
    expect(value(section(pjsip, "global"), "endpoint_identifier_order")).toBe("ip");
    expect(pjsip.directives).toEqual(["#tryinclude pjsip_trunk.conf"]);
    expect(read(".gitignore").split("\n")).toContain("pjsip_trunk.conf");
  });

  for (const example of ["pjsip_trunk.registration.example", "pjsip_trunk.ip-auth.example"]) {
    it(`builds, from ${example}, the trunk endpoint the default dial string names`, () => {
      const objects = pjsipObjects(config("pjsip.conf"), config(example));
      const endpointName = DEFAULT_SETTINGS.dialString.split("@")[1];
      const endpoint = objects.get(`endpoint/${endpointName}`)!;
      expect(endpoint.get("context")).toBe("from-trunk");
      expect(endpoint.get("direct_media")).toBe("no");
      const aor = objects.get(`aor/${endpoint.get("aors")}`)!;
      expect(aor.get("contact")).toStartWith("sip:");
      expect(objects.get("transport/transport-udp")!.get("external_media_address")).toBeTruthy();

      const identify = [...objects.values()].find((o) => o.get("type") === "identify")!;
      expect(identify.get("endpoint")).toBe(endpointName!);
      expect(identify.get("match")).toBeTruthy();

      const registration = [...objects.values()].find((o) => o.get("type") === "registration");
      if (example.includes("registration")) {
        expect(registration?.get("line")).toBe("yes");
        expect(registration?.get("endpoint")).toBe(endpointName!);
        const auth = objects.get(`auth/${registration!.get("outbound_auth")}`)!;
        expect(auth.get("password")).toBe("ACCOUNT_PASSWORD");
        expect(endpoint.get("outbound_auth")).toBe(registration!.get("outbound_auth")!);
      } else {
        expect(registration).toBeUndefined();
      }
    });
  }
});
