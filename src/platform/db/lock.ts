// An exclusive lock on a directory: refuses to open the embedded database while another process (a running server,
// or the admin CLI) has it open. The lock is flock(2) on an open file, so the kernel drops it when its process dies,
// however it dies: a leftover file or a recycled pid (a server that was PID 1 in a container, restarted as PID 1)
// never blocks a start. The holder's pid is written into the file only to name it in the message.
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { closeSync, constants, ftruncateSync, openSync, readFileSync, realpathSync, writeSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { join } from "node:path";

export class DirectoryLockedError extends Error {}

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/** Directories this process holds: flock cannot tell a second open in the same process from another process. */
const heldHere = new Set<string>();

export function acquireDirectoryLock(dir: string): { release(): void } {
  const key = realpathSync(dir);
  if (heldHere.has(key)) throw new DirectoryLockedError(`the embedded database in ${dir} is already open in this process`);
  const { flock, errno } = libc();
  const file = join(dir, "flowyte.lock");
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const code = errno(); // read before anything else can call into libc and overwrite it
    closeSync(fd);
    if (code === osConstants.errno.EWOULDBLOCK || code === osConstants.errno.EAGAIN) {
      const holder = readFileSync(file, "utf8").trim();
      throw new DirectoryLockedError(
        `the embedded database in ${dir} is in use by ${holder ? `process ${holder}` : "another process"}; stop it first (or use Postgres via DATABASE_URL to share one database)`,
      );
    }
    throw new Error(`could not lock ${file}: flock failed with errno ${code} (a file system without locks? use a local disk or Postgres)`);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, String(process.pid), 0);
  heldHere.add(key);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      heldHere.delete(key);
      // The file stays: unlinking it would let a process that opened it a moment ago lock a file nobody else sees.
      ftruncateSync(fd, 0);
      flock(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
}

let loaded: Libc | null = null;

/** libc's flock and errno through Bun's FFI (Node's fs has no flock); names differ between libcs. */
function libc(): Libc {
  if (loaded) return loaded;
  const candidates: Record<string, { names: string[]; errno: string }> = {
    linux: { names: ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"], errno: "__errno_location" },
    darwin: { names: ["libc.dylib", "/usr/lib/libSystem.B.dylib"], errno: "__error" },
    freebsd: { names: ["libc.so.7"], errno: "__error" },
  };
  const platform = candidates[process.platform];
  const tried: string[] = [];
  for (const name of platform?.names ?? []) {
    try {
      const lib = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [platform!.errno]: { args: [], returns: FFIType.ptr },
      });
      const errnoLocation = lib.symbols[platform!.errno]!;
      loaded = {
        flock: (fd, operation) => lib.symbols.flock!(fd, operation) as number,
        errno: () => read.i32(errnoLocation() as Pointer, 0),
      };
      return loaded;
    } catch {
      tried.push(name);
    }
  }
  throw new Error(
    `the embedded database needs flock(2) from the C library to lock its folder, and none was found on ${process.platform}` +
      (tried.length ? ` (tried ${tried.join(", ")})` : "") +
      "; run on Linux or macOS, or use Postgres via DATABASE_URL",
  );
}
