// The voice service inside the appliance: when ARI_URL is set, the Stasis bridge takes inbound calls, routes each
// by the dialed number to its agent's published version, and runs a call session on an RTP port of its own.
//
// On several replicas exactly one holds the Stasis application (Asterisk gives an application name to one
// WebSocket): the one holding the lease (lease.ts). The others stand by and try to take the lease every second;
// the one that gets it connects, then ends what a dead holder left behind, in Asterisk (takeover.ts) and in
// storage (orphaned-calls.ts). docs/operator-guide.md, "Telephony on several replicas", says what callers hear.
import type { Config } from "../src/config.ts";
import type { Db } from "../src/platform/db/index.ts";
import type { Logger } from "../src/platform/log.ts";
import type { Telemetry } from "../src/platform/telemetry/index.ts";
import type { CompiledConfig } from "../src/runtime/compiled.ts";
import type { ConversationRuntime } from "../src/runtime/conversation.ts";
import { startVoiceBridge, type RouteCall, type VoiceBridge } from "./ari/index.ts";
import type { CallSpeech } from "./call/index.ts";
import { VoiceLease } from "./lease.ts";
import { endCallsOfOtherReplicas } from "./orphaned-calls.ts";
import { handlePhoneCall, nativeFormatsOf, PortPool } from "./phone.ts";

const STOP_WAIT_MS = 5000;
/** How often a standby tries to take the application over. */
const STANDBY_TRY_MS = 1000;
/**
 * On a clean stop the lease is released while the application's WebSocket stays open, until a standby's own
 * connection replaces it (so there is no moment without the application) or this long has passed (no standby).
 */
const HANDOVER_WAIT_MS = 3000;

export interface VoiceServiceDeps {
  config: Pick<Config, "ari" | "rtp" | "replicaId" | "defaultPhoneRegion">;
  db: Db;
  storage: "pglite" | "postgres";
  runtime: ConversationRuntime;
  speech: CallSpeech;
  route: RouteCall;
  /** The version a live call serves; throws when the agent has none (the caller then hears the refusal). */
  compiledFor(organizationId: string, agentId: string): Promise<{ compiled: CompiledConfig; versionId: string }>;
  log: Logger;
  telemetry?: Telemetry;
}

/** While this replica holds the application. */
interface Term {
  bridge: VoiceBridge;
  /** Aborted with the reason the calls' conversations end with. */
  stopping: AbortController;
  calls: Set<Promise<void>>;
  ending: boolean;
}

export function startVoiceService(deps: VoiceServiceDeps): { stop(): Promise<void> } | null {
  const { config, log } = deps;
  if (!config.ari) {
    log.info("telephony is off (set ARI_URL to answer calls through Asterisk)");
    return null;
  }
  const ari = config.ari;
  const replicaId = config.replicaId;
  const ports = new PortPool(config.rtp.portMin, config.rtp.portMax);
  const lease = new VoiceLease({ db: deps.db, key: `${ari.app}@${ari.url}`, holder: replicaId, ttlSeconds: ari.leaseSeconds, exclusive: deps.storage === "pglite" });
  const ttlMs = ari.leaseSeconds * 1000;
  const renewEveryMs = ttlMs / 3;
  let term: Term | null = null;
  let heldAt = -Infinity;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let ticking: Promise<void> = Promise.resolve();

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => (ticking = tick()), term ? renewEveryMs : Math.min(STANDBY_TRY_MS, renewEveryMs));
  }

  async function tick() {
    let held: boolean;
    try {
      held = await lease.hold();
      if (held) heldAt = performance.now();
    } catch (err) {
      // Storage unreachable: a holder keeps the application while its lease may still be valid to the others.
      held = term !== null && performance.now() - heldAt < ttlMs;
      log.warn("could not take or renew the telephony lease", { err, holding: held });
    }
    if (stopped) return;
    if (held && !term) term = begin();
    else if (!held && term) {
      log.error("lost the telephony lease: another replica takes the calls now", { replicaId });
      await end(term, "lease_lost");
    }
    schedule();
  }

  function begin(): Term {
    const stopping = new AbortController();
    const calls = new Set<Promise<void>>();
    const bridge = startVoiceBridge({
      ari,
      rtpHost: config.rtp.host,
      replicaId,
      route: deps.route,
      settings: { phoneRegion: config.defaultPhoneRegion },
      onCall: (call) => {
        const handled = handlePhoneCall(call, { runtime: deps.runtime, speech: deps.speech, ports, compiledFor: deps.compiledFor, stopping: stopping.signal, replicaId, log, telemetry: deps.telemetry, mediaFormat: config.rtp.mediaFormat, nativeFormats: nativeFormatsOf(bridge.client, log) });
        calls.add(handled);
        return handled.finally(() => calls.delete(handled));
      },
      log,
    });
    const t: Term = { bridge, stopping, calls, ending: false };
    // Asterisk gave the application to another connection (ApplicationReplaced): step down, let the lease go.
    bridge.client.events.onState((state) => {
      if (state !== "closed" || t.ending || term !== t) return;
      log.error("the Stasis application was taken by another connection; giving up the telephony lease", { replicaId });
      void end(t, "application_replaced").then(() => lease.release().catch(() => {}));
    });
    log.info(`telephony: holding Stasis app "${ari.app}" on ${ari.url} as ${replicaId}; call audio on ${config.rtp.host}:${config.rtp.portMin}-${config.rtp.portMax}`);
    bridge.ready.then(() => sweep(t), () => {});
    return t;
  }

  async function sweep(t: Term) {
    try {
      const [asterisk, conversations] = await Promise.all([t.bridge.sweep(), endCallsOfOtherReplicas(deps.db, deps.runtime, replicaId, log)]);
      const left = asterisk.cutOff.length + asterisk.legs.length + asterisk.bridges.length + asterisk.answered.length + asterisk.transferred.length + conversations.length;
      if (left) log.warn("took over calls a previous holder of the Stasis application left", { ...asterisk, conversationsEnded: conversations });
    } catch (err) {
      log.error("could not clean up after the previous holder of the Stasis application", { err });
    }
  }

  /** Ends this replica's calls (conversations closed with `reason`, callers told and hung up) and disconnects. */
  async function end(t: Term, reason: string, beforeDisconnect?: () => Promise<void>) {
    t.ending = true;
    if (term === t) term = null;
    t.stopping.abort(reason);
    // Without the application's connection no announcement could be seen to finish: the new holder ends the calls.
    if (t.bridge.client.events.connectionState === "open") await t.bridge.endCalls();
    await Promise.race([Promise.allSettled(t.calls), Bun.sleep(STOP_WAIT_MS)]);
    await beforeDisconnect?.();
    await t.bridge.stop();
  }

  /** Releases the lease, then waits (a little) for a standby's connection to replace this one. */
  async function handOver(t: Term) {
    t.bridge.client.events.handOver();
    await lease.release().catch((err) => log.warn("could not release the telephony lease; a standby takes over when it expires", { err }));
    // The embedded store has no other replica to wait for.
    if (deps.storage === "pglite") return;
    const replaced = new Promise<void>((resolve) => t.bridge.client.events.onState((state) => state === "closed" && resolve()));
    await Promise.race([replaced, Bun.sleep(HANDOVER_WAIT_MS)]);
  }

  ticking = tick();
  return {
    /**
     * Stops answering, closes every call's conversation (`server_stopping`), tells each caller the call ends and
     * hangs up, waits (up to 5 s) for the sessions, then hands the application over.
     */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ticking;
      const t = term;
      if (t) await end(t, "server_stopping", () => handOver(t));
      else await lease.release().catch(() => {});
    },
  };
}
