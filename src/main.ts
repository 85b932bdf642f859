// Entry point: `bun start` (the image's CMD, so often PID 1). Reads the configuration, starts the appliance, and stops
// cleanly on SIGINT/SIGTERM (`docker stop`, a pod's termination): requests drained, jobs stopped, storage closed.
import { type Config, ConfigError, loadConfig } from "./config.ts";
import { DirectoryLockedError } from "./platform/db/lock.ts";
import { createLogger } from "./platform/log.ts";
import { startServer } from "./server.ts";

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}

const log = createLogger(config.logLevel);
const starting = startServer(config, log);
// Handlers go in before the start: as PID 1 a signal without one is ignored, and `docker stop` would wait for SIGKILL.
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) {
    log.warn(`${signal} again: exiting without waiting for the clean stop`);
    process.exit(1);
  }
  stopping = true;
  log.info(`${signal}: shutting down`);
  const server = await starting.catch(() => null);
  try {
    await server?.stop();
  } catch (err) {
    log.error("could not stop cleanly", { error: err });
    process.exit(1);
  }
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
try {
  await starting;
} catch (err) {
  log.error(err instanceof DirectoryLockedError ? err.message : "could not start", err instanceof DirectoryLockedError ? undefined : { error: err });
  process.exit(1);
}
