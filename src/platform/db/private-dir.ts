// The embedded store's folder is private to the server's user: it holds every tenant's data, the master key and the
// secrets sealed with it. PGlite writes the files of a new database with mode 0666 whatever the umask, so the tree
// is tightened after opening as well as before.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Files created from now on by this process are owner-only, and `dir` exists as an owner-only folder. */
export function createPrivateDir(dir: string): void {
  process.umask(0o077);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir);
}

/**
 * Takes group and other permissions off `dir` and everything under it (symbolic links are left alone).
 * Returns the paths it could not change (another user's files), for the caller to report.
 */
export function makeTreePrivate(dir: string): string[] {
  const refused: string[] = [];
  for (const path of [dir, ...readdirSync(dir, { recursive: true }).map((entry) => join(dir, String(entry)))]) {
    if (!tighten(path)) refused.push(path);
  }
  return refused;
}

function tighten(path: string): boolean {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink() || (stat.mode & 0o077) === 0) return true;
  try {
    chmodSync(path, stat.mode & 0o700);
    return true;
  } catch {
    return false;
  }
}
