// The whole project compiles under TypeScript's strict settings (tsconfig.json), unused locals included.
import { expect, it } from "bun:test";
import { join } from "node:path";

it("type-checks the whole project", async () => {
  const root = join(import.meta.dir, "..");
  const proc = Bun.spawn([join(root, "node_modules/.bin/tsc"), "--noEmit", "-p", root], { stdout: "pipe", stderr: "pipe" });
  const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
  expect(out).toBe("");
  expect(code).toBe(0);
});
