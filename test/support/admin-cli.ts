// The operator CLI (`bun run admin …`) run as its own process, as an operator runs it, on an embedded store in a
// fresh folder (removed after the test file).
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function adminCli(folderPrefix: string) {
  const dataDir = mkdtempSync(join(tmpdir(), folderPrefix));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  async function admin(...args: string[]) {
    // Always the embedded store: the CLI's point here is the single-process folder (the server stopped).
    const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: "" };
    const proc = Bun.spawn(["bun", "src/admin.ts", ...args], { env, stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
    return { code, out, err };
  }
  return { dataDir, admin };
}
