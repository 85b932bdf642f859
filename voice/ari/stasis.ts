// The Stasis application: every inbound call the dialplan sends here is routed to an agent by the number dialed,
// answered and handed to the call session; a number no agent answers gets an announcement and a hangup.
import type { Logger } from "../../src/platform/log.ts";
import { normalizePhoneNumber } from "../../src/platform/e164.ts";
import { AriError, type AriClient } from "./client.ts";
import { playAnnouncement } from "./announcement.ts";
import { ActiveCall, type CallEvent, type CallRegistry, type InboundCall } from "./inbound-call.ts";
import { isOwnLeg, type BridgeSettings } from "./settings.ts";
import type { Channel } from "./types.ts";

export interface CallRoute {
  organizationId: string;
  agentId: string;
}

/** Which agent answers calls to `dialedE164`; null when none does. */
export type RouteCall = (dialedE164: string, callerNumber: string) => CallRoute | null | Promise<CallRoute | null>;

export interface StasisAppOptions {
  route: RouteCall;
  /** Called once the call is answered; the session owns the call from here. */
  onCall: (call: InboundCall) => void | Promise<void>;
  settings: BridgeSettings;
  log: Logger;
}

export interface StasisApp {
  /**
   * Stops taking calls and ends the ones still with an agent: the caller hears the unavailable announcement, then
   * is hung up (transferred calls carry on in Asterisk). Calling it again waits for the first.
   */
  stop(): Promise<void>;
  /** The channel belongs to a call of this app, or entered Stasis since it started (a call being set up). */
  claims(channelId: string): boolean;
  /** The bridge was made for a live call of this app. */
  ownsBridge(bridgeId: string): boolean;
  /** Takes a caller that entered Stasis before this app started and is still waiting to be answered. */
  acceptWaiting(channel: Channel, args: string[]): void;
}

export function startStasisApp(client: AriClient, options: StasisAppOptions): StasisApp {
  const { log } = options;
  const calls = new Map<string, ActiveCall>();
  const bridges = new Set<string>();
  // Channels whose StasisStart this app saw (until destroyed): between StasisStart and the call taking them over
  // (routing, answering) they are ours although no call holds them yet.
  const started = new Set<string>();
  const registry: CallRegistry = {
    adopt: (channelId, call) => calls.set(channelId, call),
    forget: (channelId) => calls.delete(channelId),
    adoptBridge: (bridgeId) => bridges.add(bridgeId),
    forgetBridge: (bridgeId) => bridges.delete(bridgeId),
  };
  const dispatch = (event: CallEvent) => calls.get(event.channel.id)?.handle(event);
  let wasOpen = false;

  const subscriptions = [
    client.events.on("StasisStart", (event) => {
      started.add(event.channel.id);
      if (isOwnLeg(event.args)) return;
      accept(event.channel, event.args);
    }),
    client.events.on("ChannelDtmfReceived", dispatch),
    client.events.on("ChannelHangupRequest", dispatch),
    client.events.on("StasisEnd", dispatch),
    client.events.on("ChannelDestroyed", (event) => {
      started.delete(event.channel.id);
      dispatch(event);
    }),
    client.events.onState((state) => {
      if (state !== "open") return;
      if (wasOpen) for (const call of liveCalls()) void call.confirmCallerPresent();
      wasOpen = true;
    }),
  ];

  /** Calls are registered under several channels (caller, media, transfer legs). */
  function liveCalls(): Set<ActiveCall> {
    return new Set(calls.values());
  }

  function accept(channel: Channel, args: string[]) {
    acceptInbound(channel, args).catch((err) => log.error("inbound call failed", { channelId: channel.id, err }));
  }

  async function acceptInbound(channel: Channel, args: string[]) {
    // extensions.conf passes the dialed number as the first argument; a bare Stasis(app) still has the extension.
    const dialed = args[0] || channel.dialplan.exten;
    const dialedE164 = normalizePhoneNumber(dialed, options.settings.phoneRegion);
    const callerNumber = channel.caller.number;
    const route = dialedE164 ? await resolveRoute(dialedE164, callerNumber) : null;
    if (!dialedE164 || !route) {
      log.info("call to a number no agent answers", { dialed, callerNumber });
      return announceUnassigned(channel);
    }
    const call = new ActiveCall(
      {
        channelId: channel.id,
        callerNumber,
        callerName: channel.caller.name,
        dialedNumber: dialedE164,
        organizationId: route.organizationId,
        agentId: route.agentId,
      },
      client,
      log,
      options.settings,
      registry,
    );
    try {
      await client.channels.answer(channel.id);
    } catch (err) {
      if (!(err instanceof AriError && err.status === 404)) throw err;
      log.info("the caller hung up before the call was answered", { channelId: channel.id });
      return call.confirmCallerPresent();
    }
    // The call session logs the answered call at info, with its conversation.
    log.debug("inbound call answered", { channelId: channel.id, dialed: dialedE164, agentId: route.agentId });
    try {
      await options.onCall(call);
    } catch (err) {
      log.error("the call session failed to take the call; hanging up", { channelId: channel.id, err });
      await call.hangup();
    }
  }

  async function resolveRoute(dialedE164: string, callerNumber: string): Promise<CallRoute | null> {
    try {
      return await options.route(dialedE164, callerNumber);
    } catch (err) {
      log.error("routing an inbound call failed", { dialedE164, err });
      return null;
    }
  }

  async function announceUnassigned(channel: Channel) {
    try {
      await client.channels.answer(channel.id);
      await playAnnouncement(client, channel.id, options.settings.unassignedAnnouncement, log);
    } catch (err) {
      log.warn("the unassigned-number announcement did not play", { channelId: channel.id, err });
    }
    await client.channels.hangup(channel.id).catch(() => {});
  }

  let stopping: Promise<void> | null = null;
  async function stop() {
    for (const off of subscriptions) off();
    await Promise.all(
        [...liveCalls()]
          .filter((call) => call.isWithAgent)
          .map(async (call) => {
            await call.announceUnavailable().catch((err) => log.warn("could not tell a caller the call ends", { err }));
            await call.hangup().catch((err) => log.warn("could not hang up a call on stop", { err }));
          }),
      );
  }

  return {
    stop: () => (stopping ??= stop()),
    claims: (channelId) => calls.has(channelId) || started.has(channelId),
    ownsBridge: (bridgeId) => bridges.has(bridgeId),
    acceptWaiting(channel, args) {
      started.add(channel.id);
      accept(channel, args);
    },
  };
}
