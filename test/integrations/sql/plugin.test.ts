// The SQL plugins as the loader sees them, and the pure parts: sensitivity rules and operator templates.
import { describe, expect, it } from "bun:test";
import { PluginError } from "../../../src/api/integrations/contract.ts";
import { contractProblems, loadPlugins } from "../../../src/api/integrations/registry.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { compileTemplate } from "../../../plugins/sql/operation.ts";
import { classify, sensitivityByName, sensitivityByShape } from "../../../plugins/sql/sensitivity.ts";
import { PLUGINS } from "./support.ts";

describe("SQL plugins", () => {
  it("load as built-ins, while the shared sql folder (no index) is not a plugin", async () => {
    const lines: string[] = [];
    const registry = await loadPlugins({ pluginsDir: null, log: createLogger("info", (l) => lines.push(l)) });
    expect(registry.get("postgres")).toBe(PLUGINS.postgres);
    expect(registry.get("mysql")).toBe(PLUGINS.mysql);
    expect(registry.get("sql")).toBeUndefined();
    expect(lines.join("\n")).not.toContain("integration plugin skipped");
    for (const plugin of Object.values(PLUGINS)) {
      expect(contractProblems(plugin)).toEqual([]);
      expect(plugin).toMatchObject({ category: "database", skillType: "native_sql", auth: { type: "credentials" } });
      expect(Object.keys((plugin.auth as { schema: { properties: object } }).schema.properties)).toEqual(["host", "port", "database", "user", "password", "sslmode", "ca_pem"]);
    }
  });
});

describe("sensitivity", () => {
  it("reads the column name in any casing", () => {
    expect(sensitivityByName("customerEmail")).toBe("contact");
    expect(sensitivityByName("Date-Of-Birth")).toBe("pii");
    expect(sensitivityByName("cc_number")).toBe("payment_card");
    expect(sensitivityByName("api_key")).toBe("secret");
    expect(sensitivityByName("phone_verified_at")).toBe("contact");
    expect(sensitivityByName("company_name")).toBeNull();
    expect(sensitivityByName("tokenizer_version")).toBeNull();
  });

  it("reads the shape of sampled values", () => {
    expect(sensitivityByShape(["4111111111111111", "5555 5555 5555 4444", ""])).toBe("payment_card");
    expect(sensitivityByShape(["4111111111111112", "1234567890123"])).toBeNull();
    expect(sensitivityByShape(["a@b.co", "c@d.io", "note"])).toBe("contact");
    expect(sensitivityByShape(["123-45-6789"])).toBe("pii");
    expect(sensitivityByShape(["hello", "world", "a@b.co"])).toBeNull();
    expect(sensitivityByShape([])).toBeNull();
  });

  it("keeps the stronger class when name and values disagree", () => {
    expect(classify("contact_phone", ["4111111111111111"])).toBe("payment_card");
    expect(classify("password", ["a@b.co"])).toBe("secret");
  });
});

describe("query templates", () => {
  it("binds {param} placeholders outside quotes and comments", () => {
    expect(compileTemplate("postgres", "SELECT * FROM t WHERE a = {x} AND b = '{y}' AND c = {x} -- {z}\n")).toEqual({
      statement: "SELECT * FROM t WHERE a = $1 AND b = '{y}' AND c = $2",
      params: ["x", "x"],
    });
    expect(compileTemplate("mysql", "SELECT `{a}` FROM t WHERE a = {x}; ")).toEqual({ statement: "SELECT `{a}` FROM t WHERE a = ?", params: ["x"] });
  });

  it("refuses stacked statements, the dialect's own placeholders and malformed templates", () => {
    for (const sql of ["SELECT 1; SELECT 2", "SELECT ?", "SELECT $1", "SELECT {a b}", "SELECT {", "SELECT 'x", "SELECT /* x", ""]) {
      expect(() => compileTemplate("postgres", sql)).toThrow(PluginError);
    }
  });
});
