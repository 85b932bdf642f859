// The ARI events WebSocket (`/ari/events?app=…`): typed dispatch, bounded-backoff reconnection, and waiting
// for one event. A Stasis application exists only while such a socket is connected, so reconnecting is also what
// re-registers the application and its subscription with Asterisk.
import type { Logger } from "../../src/platform/log.ts";
import type { AriEvent, AriEventMap, AriEventType } from "./types.ts";

export interface ReconnectPolicy {
  /** Delay before reconnecting after a drop; doubles with each failed attempt up to maxDelayMs (±20% jitter). */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Failed attempts in a row before giving up; Infinity keeps trying. */
  maxAttempts: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = { initialDelayMs: 250, maxDelayMs: 10_000, maxAttempts: Infinity };

/** `open` again after `reconnecting` means events may have been missed in between. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export class AriWaitTimeout extends Error {
  override readonly name = "AriWaitTimeout";
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

type Listener = (event: never) => void;

export class AriEventStream {
  private socket: WebSocket | null = null;
  private state: ConnectionState = "closed";
  private stopped = true;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly anyListeners = new Set<(event: AriEvent) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private firstOpen: PromiseWithResolvers<void> | null = null;
  private handingOver = false;

  constructor(
    private readonly url: string,
    private readonly policy: ReconnectPolicy,
    private readonly log: Logger,
  ) {}

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Connects; resolves once the socket is first open, rejects if stopped or out of attempts before that. */
  start(): Promise<void> {
    if (!this.stopped) return this.firstOpen?.promise ?? Promise.resolve();
    this.stopped = false;
    this.failures = 0;
    this.firstOpen = Promise.withResolvers<void>();
    this.open("connecting");
    return this.firstOpen.promise;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve(), { once: true }));
      socket.close(1000, "client stopping");
      await Promise.race([closed, Bun.sleep(1000)]);
    }
    this.settleFirstOpen(new Error("ARI event stream stopped before it connected"));
    this.setState("closed");
  }

  on<K extends AriEventType>(type: K, listener: (event: AriEventMap[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  /** Every message, the ones the bridge ignores (ChannelVarset, BridgeCreated, …) included. */
  onAny(listener: (event: AriEvent) => void): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** The first event of this type that matches; register before the request that causes it, to win every race. */
  waitFor<K extends AriEventType>(type: K, match: (event: AriEventMap[K]) => boolean, options: WaitOptions): Promise<AriEventMap[K]> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        off();
        options.signal?.removeEventListener("abort", aborted);
      };
      const aborted = () => {
        done();
        reject(options.signal!.reason);
      };
      const off = this.on(type, (event) => {
        if (!match(event)) return;
        done();
        resolve(event);
      });
      const timer = setTimeout(() => {
        done();
        reject(new AriWaitTimeout(`no ${type} within ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      if (options.signal?.aborted) return aborted();
      options.signal?.addEventListener("abort", aborted, { once: true });
    });
  }

  private open(state: "connecting" | "reconnecting") {
    this.setState(state);
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url);
    } catch (err) {
      return this.retry(false, { err });
    }
    this.socket = socket;
    let opened = false;
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      opened = true;
      this.failures = 0;
      this.settleFirstOpen();
      this.setState("open");
    });
    socket.addEventListener("message", (message) => {
      if (this.socket === socket) this.dispatch(message.data);
    });
    socket.addEventListener("close", (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.stopped) this.retry(opened, { code: close.code, reason: close.reason });
    });
  }

  /** A drop of an open socket is not a failed attempt; a refused or broken attempt is. */
  private retry(afterDrop: boolean, detail: Record<string, unknown> = {}) {
    if (!afterDrop && ++this.failures >= this.policy.maxAttempts) {
      this.stopped = true;
      this.log.error("ARI event stream gave up", { failedAttempts: this.failures, ...detail });
      this.settleFirstOpen(new Error(`ARI event stream gave up after ${this.failures} failed attempts`));
      return this.setState("closed");
    }
    const base = Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** this.failures);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.log.warn(afterDrop ? "ARI event stream dropped; reconnecting" : "ARI event stream refused; retrying", { inMs: delay, ...detail });
    this.setState("reconnecting");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open("reconnecting");
    }, delay);
  }

  /** This client is handing the application to another replica: its connection replacing this one is expected. */
  handOver() {
    this.handingOver = true;
  }

  /** Another client registered the same application name: reconnecting would only steal it back and forth. */
  private replaced() {
    if (this.handingOver) this.log.info("the Stasis application was handed over to another replica; this connection stops");
    else this.log.error("another ARI client took over the Stasis application; this one stops", { url: redact(this.url) });
    void this.stop();
  }

  private dispatch(data: unknown) {
    let event: AriEvent;
    try {
      event = JSON.parse(String(data)) as AriEvent;
    } catch {
      return this.log.warn("ARI event stream sent a message that is not JSON");
    }
    if (event.type === "ApplicationReplaced") return this.replaced();
    // Snapshots: a listener may register a waiter that must not see the event that caused it.
    for (const listener of [...this.anyListeners]) this.call(listener, event);
    for (const listener of [...(this.listeners.get(event.type) ?? [])]) this.call(listener as (e: AriEvent) => void, event);
  }

  /** One failing listener must not stop the others or the stream. */
  private call(listener: (event: AriEvent) => void, event: AriEvent) {
    try {
      listener(event);
    } catch (err) {
      this.log.error("ARI event listener failed", { type: event.type, err });
    }
  }

  private setState(state: ConnectionState) {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private settleFirstOpen(error?: Error) {
    const first = this.firstOpen;
    if (!first) return;
    this.firstOpen = null;
    if (error) {
      // Nobody may be awaiting start(); the failure is already logged.
      first.promise.catch(() => {});
      first.reject(error);
    } else first.resolve();
  }
}

function redact(url: string): string {
  return url.replace(/api_key=[^&]*/, "api_key=***");
}
