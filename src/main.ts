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
const starting = startServer(config, log, { downloadModels: config.models.autoDownload });
// Handlers go in before the start: as PID 1 a signal without one is ignored, and `docker stop` would wait for SIGKILL.
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) {
    log.warn(`${signal} again: exiting without waiting for the clean stop`);
    process.exit(1);
  }
  stopping = true;
  const server = await starting.catch(() => null);
  // Readiness fails first, and the server keeps serving for SHUTDOWN_DELAY_SECONDS, so load balancers (a Kubernetes
  // Service's endpoints, a proxy's health checks) stop sending requests before it stops listening.
  server?.startDraining();
  if (server && config.shutdownDelayMs > 0) {
    log.info(`${signal}: draining; /ready answers 503 for ${config.shutdownDelayMs / 1000} s before the server stops`);
    await Bun.sleep(config.shutdownDelayMs);
  }
  log.info(`${signal}: shutting down`);
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
