// The voice bridge's door: connect to Asterisk's ARI, run the Stasis application, hand answered calls to the
// call session. Everything arrives as arguments; nothing here reads the environment.
import type { Logger } from "../../src/platform/log.ts";
import { AriClient, type AriConnection } from "./client.ts";
import type { ReconnectPolicy } from "./events.ts";
import type { InboundCall } from "./inbound-call.ts";
import { bridgeTag, DEFAULT_SETTINGS, type BridgeSettings } from "./settings.ts";
import { startStasisApp, type RouteCall } from "./stasis.ts";
import { sweepAfterTakeover, type TakeoverSweep } from "./takeover.ts";

export { AriClient, AriError, type AriConnection } from "./client.ts";
export { AriWaitTimeout, type ConnectionState, type ReconnectPolicy } from "./events.ts";
export { CallEndedError, type CallMedia, type HangupInfo, type InboundCall, type MediaFormat } from "./inbound-call.ts";
export { DEFAULT_SETTINGS, type BridgeSettings } from "./settings.ts";
export type { CallRoute, RouteCall } from "./stasis.ts";
export type { TakeoverSweep } from "./takeover.ts";
export type { DestinationBriefing, TransferFailure, TransferOptions, TransferResult } from "./transfer.ts";

export interface VoiceBridgeOptions {
  /** Config["ari"] from src/config.ts. */
  ari: AriConnection;
  /** Config["rtp"].host: this server's address as Asterisk sees it. */
  rtpHost: string;
  /** Config["replicaId"]: goes into the names of the bridges this replica makes. */
  replicaId?: string;
  route: RouteCall;
  onCall: (call: InboundCall) => void | Promise<void>;
  log: Logger;
  /** Defaults in DEFAULT_SETTINGS. */
  settings?: Partial<Omit<BridgeSettings, "rtpHost" | "bridgeTag">>;
  reconnect?: Partial<ReconnectPolicy>;
}

export interface VoiceBridge {
  /** Resolves once the events WebSocket is first connected; the bridge keeps retrying until then. */
  ready: Promise<void>;
  client: AriClient;
  /**
   * Once connected after taking the application over: ends what a dead replica left in it (takeover.ts). Calls
   * that arrive meanwhile are this bridge's own and are left alone.
   */
  sweep(): Promise<TakeoverSweep>;
  /** Stops answering and ends the calls with an agent (StasisApp.stop); stays connected until stop(). */
  endCalls(): Promise<void>;
  stop(): Promise<void>;
}

export function startVoiceBridge(options: VoiceBridgeOptions): VoiceBridge {
  const { log } = options;
  const client = new AriClient(options.ari, { log, reconnect: options.reconnect });
  const settings: BridgeSettings = { ...DEFAULT_SETTINGS, ...options.settings, rtpHost: options.rtpHost, bridgeTag: bridgeTag(options.ari.app, options.replicaId ?? "local") };
  const app = startStasisApp(client, { route: options.route, onCall: options.onCall, log, settings });
  const offState = client.events.onState((state) => log.info("ARI event stream", { state, app: options.ari.app }));
  const ready = client.connect();
  // The failure is logged by the stream; a caller that never awaits `ready` must not see an unhandled rejection.
  ready.catch(() => {});
  return {
    ready,
    client,
    sweep: () => sweepAfterTakeover(client, app, settings, log),
    endCalls: () => app.stop(),
    async stop() {
      await app.stop();
      offState();
      await client.close();
    },
  };
}
