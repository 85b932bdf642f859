// The plugin loader: built-in plugins from the repository's plugins/<kind>/ folders, then the operator's own from
// PLUGINS_DIR. A folder's index.ts (or index.js) default-exports one plugin or a list of them; a folder without an
// index is a library the plugins share. Every plugin is checked against the contract before it is listed; a
// broken one is logged and skipped, never stops the server. An operator's plugin cannot replace a built-in kind.
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TypeGuard } from "@sinclair/typebox";
import type { Logger } from "../../platform/log.ts";
import type { IntegrationPlugin } from "./contract.ts";

export const BUILTIN_PLUGINS_DIR = resolve(import.meta.dir, "../../../plugins");

const KIND = /^[a-z][a-z0-9_]{1,39}$/;
const VERSION = /^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;
const CATEGORIES = new Set(["database", "calendar", "spreadsheet", "commerce", "crm", "messaging", "other"]);

export interface PluginRegistry {
  get(kind: string): IntegrationPlugin | undefined;
  list(): IntegrationPlugin[];
  /** Where each plugin came from: `builtin` or the operator's PLUGINS_DIR. */
  origin(kind: string): "builtin" | "operator" | undefined;
}

export async function loadPlugins(deps: { pluginsDir: string | null; log: Logger; builtinDir?: string }): Promise<PluginRegistry> {
  const plugins = new Map<string, { plugin: IntegrationPlugin; origin: "builtin" | "operator" }>();
  const sources: [string, "builtin" | "operator"][] = [[deps.builtinDir ?? BUILTIN_PLUGINS_DIR, "builtin"]];
  if (deps.pluginsDir) sources.push([resolve(deps.pluginsDir), "operator"]);
  for (const [dir, origin] of sources) {
    if (!existsSync(dir)) {
      if (origin === "operator") deps.log.warn("PLUGINS_DIR does not exist; no operator plugins loaded", { dir });
      continue;
    }
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory()) continue;
      const index = ["index.ts", "index.js", "index.mjs"].map((name) => join(dir, entry.name, name)).find(existsSync);
      if (!index) continue;
      try {
        const module = (await import(pathToFileURL(index).href)) as { default?: unknown };
        const exported = Array.isArray(module.default) ? module.default : [module.default];
        for (const candidate of exported) {
          const problems = contractProblems(candidate);
          if (problems.length > 0) throw new Error(`not a plugin: ${problems.join("; ")}`);
          const plugin = candidate as IntegrationPlugin;
          const existing = plugins.get(plugin.kind);
          if (existing) throw new Error(`kind ${plugin.kind} is already provided by a ${existing.origin} plugin`);
          plugins.set(plugin.kind, { plugin, origin });
          deps.log.info("integration plugin loaded", { kind: plugin.kind, version: plugin.version, origin });
        }
      } catch (error) {
        deps.log.error("integration plugin skipped", { folder: join(dir, entry.name), error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return {
    get: (kind) => plugins.get(kind)?.plugin,
    list: () => [...plugins.values()].map((p) => p.plugin),
    origin: (kind) => plugins.get(kind)?.origin,
  };
}

/** What keeps a value from being a usable plugin; empty when it is one. */
export function contractProblems(value: unknown): string[] {
  if (typeof value !== "object" || value === null) return ["the module's default export is not an object (use definePlugin)"];
  const p = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof p.kind !== "string" || !KIND.test(p.kind)) problems.push("kind must be lowercase letters, digits and _ (2-40 characters)");
  for (const key of ["name", "description", "skillType"]) if (typeof p[key] !== "string" || !(p[key] as string).trim()) problems.push(`${key} is required`);
  if (typeof p.version !== "string" || !VERSION.test(p.version)) problems.push("version must be semver (1.2.3)");
  if (typeof p.category !== "string" || !CATEGORIES.has(p.category)) problems.push(`category must be one of ${[...CATEGORIES].join(", ")}`);
  if (typeof p.execute !== "function") problems.push("execute() is required");
  const auth = p.auth as Record<string, unknown> | undefined;
  if (!auth || !["credentials", "api_key", "oauth2"].includes(auth.type as string)) problems.push("auth.type must be credentials, api_key or oauth2");
  else if (auth.type !== "oauth2" && !TypeGuard.IsObject(auth.schema)) problems.push("auth.schema must be a TypeBox object schema");
  else if (auth.type === "oauth2") {
    if (typeof auth.authorizeUrl !== "string" || typeof auth.tokenUrl !== "string" || !Array.isArray(auth.scopes)) problems.push("oauth2 auth needs authorizeUrl, tokenUrl and scopes");
    if (typeof auth.client !== "string" || !/^[A-Z][A-Z0-9_]{0,33}_OAUTH$/.test(auth.client)) problems.push("oauth2 auth.client must name the env prefix of the OAuth client, ending in _OAUTH (e.g. GOOGLE_OAUTH)");
  }
  for (const hook of ["discover", "compile", "test", "scripts", "release", "accountLabel", "spreadsheet"]) {
    if (p[hook] !== undefined && typeof p[hook] !== "function") problems.push(`${hook} must be a function`);
  }
  if (p.actions !== undefined) {
    if (!Array.isArray(p.actions)) problems.push("actions must be a list");
    else
      for (const action of p.actions as Record<string, unknown>[]) {
        if (typeof action?.slug !== "string" || typeof action.operation !== "string" || !TypeGuard.IsObject(action.parameters)) {
          problems.push(`action ${String(action?.slug)} needs slug, operation and a TypeBox parameters object`);
        }
      }
  }
  return problems;
}
