// Entry point: `bun start`. Reads the configuration, starts the appliance, stops cleanly on SIGINT/SIGTERM.
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
try {
  const server = await startServer(config, log);
  const shutdown = async (signal: string) => {
    log.info(`${signal}: shutting down`);
    await server.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
} catch (err) {
  log.error(err instanceof DirectoryLockedError ? err.message : "could not start", err instanceof DirectoryLockedError ? undefined : { error: err });
  process.exit(1);
}
