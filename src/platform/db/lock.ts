// An exclusive lock on a directory held through a pid file: refuses to open the embedded database
// while another live process (a running server, or the admin CLI) has it open.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

export class DirectoryLockedError extends Error {}

export function acquireDirectoryLock(dir: string): { release(): void } {
  const file = join(dir, "flowyte.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(readFileSync(file, "utf8").trim());
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new DirectoryLockedError(
          `the embedded database in ${dir} is in use by process ${holder}; stop it first (or use Postgres via DATABASE_URL to share one database)`,
        );
      }
      if (holder === process.pid) {
        throw new DirectoryLockedError(`the embedded database in ${dir} is already open in this process`);
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new DirectoryLockedError(`could not lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
