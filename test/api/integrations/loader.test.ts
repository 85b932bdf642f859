// The plugin loader: the example operator plugin from a temporary PLUGINS_DIR, next to the built-in ones, and
// broken plugins (a throwing import, an export that is not a plugin, a kind taken twice) skipped with a log line.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { contractProblems, loadPlugins } from "../../../src/api/integrations/registry.ts";
import { createLogger } from "../../../src/platform/log.ts";

const CONTRACT = resolve(import.meta.dir, "../../../src/api/integrations/contract.ts");
const EXAMPLE = resolve(import.meta.dir, "../../fixtures/plugins/ticket-desk");
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A PLUGINS_DIR as an operator would lay it out, outside the repository: plugins import the contract by its installed path. */
function pluginsDir(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "flowyte-plugins-"));
  dirs.push(dir);
  cpSync(EXAMPLE, join(dir, "ticket-desk"), { recursive: true });
  const index = join(dir, "ticket-desk", "index.ts");
  writeFileSync(index, readFileSync(index, "utf8").replace("../../../../src/api/integrations/contract.ts", CONTRACT));
  for (const [folder, source] of Object.entries(extra)) {
    mkdirSync(join(dir, folder));
    writeFileSync(join(dir, folder, "index.ts"), source);
  }
  return dir;
}

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger("info", (line) => lines.push(line)) };
}

describe("plugin loader", () => {
  test("loads the example plugin from a temporary PLUGINS_DIR beside the built-in plugins", async () => {
    const { lines, log } = capture();
    const registry = await loadPlugins({ pluginsDir: pluginsDir(), log });
    const desk = registry.get("ticket_desk");
    expect(desk?.name).toBe("Ticket Desk");
    expect(desk?.version).toBe("1.2.0");
    expect(registry.origin("ticket_desk")).toBe("operator");
    expect(registry.list().map((p) => p.kind)).toContain("ticket_desk");
    for (const plugin of registry.list()) if (plugin.kind !== "ticket_desk") expect(registry.origin(plugin.kind)).toBe("builtin");
    expect(lines.some((l) => l.includes("integration plugin loaded") && l.includes('"kind":"ticket_desk"') && l.includes('"origin":"operator"'))).toBe(true);
  });

  test("a broken plugin is logged and skipped; the others still load", async () => {
    const { lines, log } = capture();
    const dir = pluginsDir({
      throws: `throw new Error("cannot start: missing settings");\n`,
      "not-a-plugin": `export default { kind: "Bad Kind", version: "one" };\n`,
      "no-export": `export const nothing = 1;\n`,
      duplicate: readFileSync(join(EXAMPLE, "index.ts"), "utf8").replace("../../../../src/api/integrations/contract.ts", CONTRACT),
    });
    mkdirSync(join(dir, "shared-library"));
    writeFileSync(join(dir, "shared-library", "helpers.ts"), "export const x = 1;\n");
    const registry = await loadPlugins({ pluginsDir: dir, log });
    expect(registry.get("ticket_desk")).toBeDefined();
    const skipped = lines.filter((l) => l.includes("integration plugin skipped"));
    expect(skipped.some((l) => l.includes("throws") && l.includes("cannot start: missing settings"))).toBe(true);
    expect(skipped.some((l) => l.includes("not-a-plugin") && l.includes("kind must be") && l.includes("version must be semver"))).toBe(true);
    expect(skipped.some((l) => l.includes("no-export") && l.includes("default export is not an object"))).toBe(true);
    // Folders load in name order, so the second copy of ticket_desk is the one refused.
    expect(skipped.some((l) => l.includes("ticket-desk") && l.includes("already provided"))).toBe(true);
    expect(skipped.some((l) => l.includes("shared-library"))).toBe(false);
    expect(skipped).toHaveLength(4);
  });

  test("an operator's plugin cannot take a built-in kind", async () => {
    const { lines, log } = capture();
    const builtin = (await loadPlugins({ pluginsDir: null, log: createLogger("error", () => {}) })).list()[0];
    if (!builtin) throw new Error("no built-in plugin to collide with");
    const source = readFileSync(join(EXAMPLE, "index.ts"), "utf8").replace("../../../../src/api/integrations/contract.ts", CONTRACT).replace('kind: "ticket_desk"', `kind: "${builtin.kind}"`);
    const registry = await loadPlugins({ pluginsDir: pluginsDir({ impostor: source }), log });
    expect(registry.origin(builtin.kind)).toBe("builtin");
    expect(lines.some((l) => l.includes("impostor") && l.includes("already provided by a builtin plugin"))).toBe(true);
  });

  test("a missing PLUGINS_DIR is a warning, not a failure", async () => {
    const { lines, log } = capture();
    const registry = await loadPlugins({ pluginsDir: join(tmpdir(), "no-such-plugins-dir-flowyte"), log });
    expect(registry.get("ticket_desk")).toBeUndefined();
    expect(lines.some((l) => l.includes("WARN") && l.includes("PLUGINS_DIR does not exist"))).toBe(true);
  });

  test("the contract check names what is missing", () => {
    expect(contractProblems(null)).toEqual(["the module's default export is not an object (use definePlugin)"]);
    const problems = contractProblems({ kind: "ok_kind", name: "x", description: "y", skillType: "crm", version: "1.0.0", category: "crm", auth: { type: "api_key" } });
    expect(problems).toContain("execute() is required");
    expect(problems).toContain("auth.schema must be a TypeBox object schema");
  });
});
