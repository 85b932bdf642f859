// How a download shows its progress: a bar (cli-progress) on a terminal, plain log lines at every tenth otherwise,
// so a container's log or a CI job gets ten lines per model rather than thousands of carriage returns.
import { SingleBar } from "cli-progress";
import type { Logger } from "../log.ts";

export interface ProgressReporter {
  start(label: string, total: number | null): void;
  update(received: number, total: number | null): void;
  /** The bar is taken down (or nothing more is printed) whether the download ended well or not. */
  stop(): void;
}

export function createProgressReporter(log: Logger, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  return stream.isTTY ? barReporter(stream) : lineReporter(log);
}

export function lineReporter(log: Logger): ProgressReporter {
  let label = "";
  let shown = -1;
  return {
    start(name, total) {
      label = name;
      shown = -1;
      if (total === null) log.info(`models: ${label}: downloading (size unknown)`);
    },
    update(received, total) {
      if (!total) return;
      const tenth = Math.floor((received / total) * 10);
      if (tenth <= shown) return;
      // A resumed download starts at its first tenth not yet reached, not at 0%.
      shown = tenth;
      log.info(`models: ${label}: ${tenth * 10}% (${megabytes(received)} of ${megabytes(total)})`);
    },
    stop() {},
  };
}

function barReporter(stream: NodeJS.WriteStream): ProgressReporter {
  let bar: SingleBar | null = null;
  return {
    start(label, total) {
      bar = new SingleBar({ stream, format: `${label} [{bar}] {percentage}% | {done} of {size}`, hideCursor: true, clearOnComplete: false });
      bar.start(total ?? 0, 0, { done: megabytes(0), size: total === null ? "?" : megabytes(total) });
    },
    update(received, total) {
      if (total !== null && bar?.getTotal() !== total) bar?.setTotal(total);
      bar?.update(received, { done: megabytes(received), size: total === null ? "?" : megabytes(total) });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
