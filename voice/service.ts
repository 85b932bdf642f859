// The voice service inside the appliance: when ARI_URL is set, the Stasis bridge takes inbound calls, routes each
// by the dialed number to its agent's published version, and runs a call session on an RTP port of its own.
import type { Config } from "../src/config.ts";
import type { Logger } from "../src/platform/log.ts";
import type { Telemetry } from "../src/platform/telemetry/index.ts";
import type { CompiledConfig } from "../src/runtime/compiled.ts";
import type { ConversationRuntime } from "../src/runtime/conversation.ts";
import { startVoiceBridge, type RouteCall } from "./ari/index.ts";
import type { CallSpeech } from "./call/index.ts";
import { handlePhoneCall, PortPool } from "./phone.ts";

const STOP_WAIT_MS = 5000;

export interface VoiceServiceDeps {
  config: Pick<Config, "ari" | "rtp">;
  runtime: ConversationRuntime;
  speech: CallSpeech;
  route: RouteCall;
  /** The version a live call serves; throws when the agent has none (the caller then hears the refusal). */
  compiledFor(organizationId: string, agentId: string): Promise<{ compiled: CompiledConfig; versionId: string }>;
  log: Logger;
  telemetry?: Telemetry;
}

export function startVoiceService(deps: VoiceServiceDeps): { stop(): Promise<void> } | null {
  const { config, log } = deps;
  if (!config.ari) {
    log.info("telephony is off (set ARI_URL to answer calls through Asterisk)");
    return null;
  }
  const ports = new PortPool(config.rtp.portMin, config.rtp.portMax);
  const stopping = new AbortController();
  const calls = new Set<Promise<void>>();
  const bridge = startVoiceBridge({
    ari: config.ari,
    rtpHost: config.rtp.host,
    route: deps.route,
    onCall: (call) => {
      const handled = handlePhoneCall(call, { runtime: deps.runtime, speech: deps.speech, ports, compiledFor: deps.compiledFor, stopping: stopping.signal, log, telemetry: deps.telemetry });
      calls.add(handled);
      return handled.finally(() => calls.delete(handled));
    },
    log,
  });
  log.info(`telephony: Stasis app "${config.ari.app}" on ${config.ari.url}; call audio on ${config.rtp.host}:${config.rtp.portMin}-${config.rtp.portMax}`);
  return {
    /** Closes every call's conversation, hangs the calls up, and waits (up to 5 s) for their sessions to finish. */
    async stop() {
      stopping.abort();
      await bridge.stop();
      await Promise.race([Promise.allSettled(calls), Bun.sleep(STOP_WAIT_MS)]);
    },
  };
}
