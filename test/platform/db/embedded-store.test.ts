// The embedded store's folder: locked by the kernel for the life of the process that opened it (so a crash, a
// recycled pid or PID 1 in a container never blocks a restart), and private to the server's user.
// Always the embedded store, whatever DATABASE_URL says: both are PGlite-only behaviour.
import { afterAll, afterEach, describe, expect, it } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../../src/platform/db/index.ts";
import { DirectoryLockedError } from "../../../src/platform/db/lock.ts";
import { createLogger } from "../../../src/platform/log.ts";
import { pidInItsNamespace, pidNamespaceUnavailable, startServerProcess, type ServerProcess } from "../../support/server-process.ts";

const SLOW = 180_000; // several real server starts, each opening PGlite, on a shared machine
const quiet = createLogger("error");
const folders: string[] = [];
const running: ServerProcess[] = [];

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "flowyte-embedded-"));
  folders.push(dir);
  return join(dir, "data");
}

async function start(dataDir: string, opts: Parameters<typeof startServerProcess>[1] = {}): Promise<ServerProcess & { url: string }> {
  const server = await startServerProcess(dataDir, opts);
  running.push(server);
  const url = await server.ready;
  if (!url) throw new Error(`the server did not start:\n${server.log()}`);
  return { ...server, url };
}

async function health(url: string) {
  const res = await fetch(`${url}/health`);
  return { status: res.status, body: await res.json() };
}

const lockFile = (dataDir: string) => join(dataDir, "pglite", "flowyte.lock");

afterEach(async () => {
  for (const server of running.splice(0)) {
    try {
      server.signal("SIGKILL");
    } catch {}
    await server.exited;
  }
});
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

if (pidNamespaceUnavailable) console.warn(`skipping the PID-namespace tests: ${pidNamespaceUnavailable}`);

describe.skipIf(pidNamespaceUnavailable !== null)("the server as PID 1 of a PID namespace (the image's CMD)", () => {
  const dataDir = newDataDir();

  it(
    "starts again as PID 1 after the server was killed -9 as PID 1, its own pid left in the lock file",
    async () => {
      const first = await start(dataDir, { pid1: true });
      expect(pidInItsNamespace(first.pid)).toBe(1);
      expect((await health(first.url)).status).toBe(200);
      first.signal("SIGKILL");
      await first.exited;
      expect(readFileSync(lockFile(dataDir), "utf8")).toBe("1");

      const second = await start(dataDir, { pid1: true });
      expect(pidInItsNamespace(second.pid)).toBe(1);
      expect(await health(second.url)).toEqual({ status: 200, body: { status: "ok" } });
      second.signal("SIGKILL");
      await second.exited;

      // A crash loop's next turn: each start finds the pid 1 of the one before in the file.
      const third = await start(dataDir, { pid1: true });
      expect(await health(third.url)).toEqual({ status: 200, body: { status: "ok" } });
    },
    SLOW,
  );

  it(
    "refuses a second server on the folder while the first runs, as PID 1 of another namespace or not, naming the holder",
    async () => {
      const first = await start(dataDir, { pid1: true });
      for (const pid1 of [true, false]) {
        const second = await startServerProcess(dataDir, { pid1 });
        running.push(second);
        expect(await second.ready).toBeNull();
        expect(await second.exited).toBe(1);
        expect(second.log()).toContain(`the embedded database in ${join(dataDir, "pglite")} is in use by process 1; stop it first`);
      }
      expect(await health(first.url)).toEqual({ status: 200, body: { status: "ok" } });
    },
    SLOW,
  );

  it(
    "stops cleanly on SIGTERM as PID 1, as `docker stop` sends it, and leaves the folder to the next process",
    async () => {
      const server = await start(dataDir, { pid1: true });
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(server.log()).toContain("SIGTERM: shutting down");
      expect(readFileSync(lockFile(dataDir), "utf8")).toBe("");

      const admin = Bun.spawn(["bun", "src/admin.ts", "org", "list"], {
        cwd: join(import.meta.dir, "..", "..", ".."),
        env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: "" },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(await admin.exited).toBe(0);
      expect(await new Response(admin.stdout).text()).toContain("(default)");
    },
    SLOW,
  );
});

describe("the folder lock", () => {
  const dataDir = newDataDir();

  it(
    "does not block a start when a leftover lock file names a live unrelated process",
    async () => {
      mkdirSync(join(dataDir, "pglite"), { recursive: true });
      const unrelated = Bun.spawn(["sleep", "300"]);
      try {
        writeFileSync(lockFile(dataDir), String(unrelated.pid));
        const server = await start(dataDir);
        expect(await health(server.url)).toEqual({ status: 200, body: { status: "ok" } });
        expect(readFileSync(lockFile(dataDir), "utf8")).toBe(String(server.pid));

        // While it runs, this process is refused, and told which process holds the folder.
        const refused = openDatabase({ databaseUrl: null, dataDir, log: quiet });
        await expect(refused).rejects.toBeInstanceOf(DirectoryLockedError);
        await expect(refused).rejects.toThrow(`is in use by process ${server.pid}`);
      } finally {
        unrelated.kill();
      }
    },
    SLOW,
  );

  it(
    "refuses to open the folder twice in one process, and opens it again once closed",
    async () => {
      const db = await openDatabase({ databaseUrl: null, dataDir, log: quiet });
      try {
        const twice = openDatabase({ databaseUrl: null, dataDir, log: quiet });
        await expect(twice).rejects.toBeInstanceOf(DirectoryLockedError);
        await expect(twice).rejects.toThrow(`the embedded database in ${join(dataDir, "pglite")} is already open in this process`);
      } finally {
        await db.close();
      }
      const again = await openDatabase({ databaseUrl: null, dataDir, log: quiet });
      expect(await again.ready()).toBe(true);
      await again.close();
    },
    SLOW,
  );
});

describe("the embedded store's files", () => {
  const dataDir = newDataDir();

  /** Every path under `dir` (itself included) that its group or other users may read, write or enter. */
  function openToOthers(dir: string): string[] {
    const paths = [dir, ...readdirSync(dir, { recursive: true }).map((p) => join(dir, String(p)))];
    return paths.filter((p) => (lstatSync(p).mode & 0o077) !== 0).map((p) => `${(lstatSync(p).mode & 0o777).toString(8)} ${p}`);
  }

  it(
    "creates DATA_DIR and everything in it private to the server's user on a fresh start, the generated master.key 0600",
    async () => {
      const server = await start(dataDir);
      expect((await health(server.url)).status).toBe(200);
      expect(lstatSync(join(dataDir, "master.key")).mode & 0o777).toBe(0o600);
      expect(lstatSync(dataDir).mode & 0o777).toBe(0o700);
      expect(readdirSync(join(dataDir, "pglite")).length).toBeGreaterThan(10);
      expect(openToOthers(dataDir)).toEqual([]);
      server.signal("SIGTERM");
      expect(await server.exited).toBe(0);
      expect(openToOthers(dataDir)).toEqual([]);
    },
    SLOW,
  );

  it(
    "takes group and other access off an existing folder at start",
    async () => {
      for (const p of [dataDir, ...readdirSync(dataDir, { recursive: true }).map((p) => join(dataDir, String(p)))]) {
        chmodSync(p, lstatSync(p).isDirectory() ? 0o777 : 0o666);
      }
      const server = await start(dataDir);
      expect((await health(server.url)).status).toBe(200);
      expect(openToOthers(dataDir)).toEqual([]);
    },
    SLOW,
  );
});
