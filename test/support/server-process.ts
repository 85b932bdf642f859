// The real server as its own process (`bun src/main.ts`, the image's CMD) on the embedded store, optionally as PID 1
// of a fresh PID namespace (`unshare --pid --fork --mount-proc`), as Docker and Kubernetes run it.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

/** Why PID-namespace tests cannot run here, or null when they can (root, or a kernel allowing user namespaces). */
export const pidNamespaceUnavailable: string | null = (() => {
  try {
    const probe = Bun.spawnSync(["unshare", "--pid", "--fork", "--mount-proc", "true"], { stderr: "pipe" });
    return probe.exitCode === 0 ? null : `unshare is not permitted here: ${probe.stderr.toString().trim()}`;
  } catch (err) {
    return `unshare is not available: ${(err as Error).message}`;
  }
})();

export interface ServerProcess {
  /** The server's own pid, as seen from the test (inside its namespace it is 1 when started as PID 1). */
  pid: number;
  /** The base URL once it listens, or null when it exited first (see `exitCode` and `log()`). */
  ready: Promise<string | null>;
  /** Exit code of the launched command (with a namespace, unshare passes the server's on). */
  exited: Promise<number>;
  log(): string;
  signal(signal: NodeJS.Signals): void;
}

export async function startServerProcess(dataDir: string, opts: { pid1?: boolean; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const command = ["bun", "src/main.ts"];
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: "",
    MASTER_KEY: "",
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    // `bun start` fetches missing models; no test may reach the internet (the model tests opt in with a stand-in).
    MODELS_AUTO_DOWNLOAD: "false",
    ...opts.env,
  };
  const proc = Bun.spawn(opts.pid1 ? ["unshare", "--pid", "--fork", "--mount-proc", ...command] : command, { cwd: root, env, stdout: "ignore", stderr: "pipe" });
  let log = "";
  const { promise: ready, resolve: listening } = Promise.withResolvers<string | null>();
  void (async () => {
    const decoder = new TextDecoder();
    // Read to the end even after the match: a full pipe would block the server's logging.
    for await (const chunk of proc.stderr) {
      log += decoder.decode(chunk, { stream: true });
      const url = /listening on (http:\/\/\S+)/.exec(log)?.[1];
      if (url) listening(url);
    }
    listening(null);
  })();
  const pid = opts.pid1 ? await forkedChild(proc.pid) : proc.pid;
  return {
    pid,
    ready,
    exited: proc.exited,
    log: () => log,
    signal: (signal) => process.kill(pid, signal),
  };
}

/** unshare --fork runs the command in a child: that child is PID 1 of the new namespace. */
async function forkedChild(pid: number): Promise<number> {
  for (;;) {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    if (children) return Number(children.split(" ")[0]);
    await Bun.sleep(10);
  }
}

/** The pid a process has inside its own (innermost) PID namespace. */
export function pidInItsNamespace(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("NSpid:"))!;
  return Number(line.trim().split(/\s+/).at(-1));
}
