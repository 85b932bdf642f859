// The Stasis application: every inbound call the dialplan sends here is routed to an agent by the number dialed,
// answered and handed to the call session; a number no agent answers gets an announcement and a hangup.
import type { Logger } from "../../src/platform/log.ts";
import { normalizePhoneNumber } from "../../src/platform/e164.ts";
import { AriError, type AriClient } from "./client.ts";
import { playAnnouncement } from "./announcement.ts";
import { ActiveCall, type CallEvent, type CallRegistry, type InboundCall } from "./inbound-call.ts";
import { isOwnLeg, type BridgeSettings } from "./settings.ts";
import type { Channel, StasisStart } from "./types.ts";

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
  /** Stops taking calls and hangs up the ones still with an agent (transferred calls carry on in Asterisk). */
  stop(): Promise<void>;
}

export function startStasisApp(client: AriClient, options: StasisAppOptions): StasisApp {
  const { log } = options;
  const calls = new Map<string, ActiveCall>();
  const registry: CallRegistry = {
    adopt: (channelId, call) => calls.set(channelId, call),
    forget: (channelId) => calls.delete(channelId),
  };
  const dispatch = (event: CallEvent) => calls.get(event.channel.id)?.handle(event);
  let wasOpen = false;

  const subscriptions = [
    client.events.on("StasisStart", (event) => {
      if (isOwnLeg(event.args)) return;
      acceptInbound(event).catch((err) => log.error("inbound call failed", { channelId: event.channel.id, err }));
    }),
    client.events.on("ChannelDtmfReceived", dispatch),
    client.events.on("ChannelHangupRequest", dispatch),
    client.events.on("StasisEnd", dispatch),
    client.events.on("ChannelDestroyed", dispatch),
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

  async function acceptInbound(event: StasisStart) {
    const channel = event.channel;
    // extensions.conf passes the dialed number as the first argument; a bare Stasis(app) still has the extension.
    const dialed = event.args[0] || channel.dialplan.exten;
    const dialedE164 = normalizePhoneNumber(dialed);
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
    log.info("inbound call answered", { channelId: channel.id, dialed: dialedE164, agentId: route.agentId });
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

  return {
    async stop() {
      for (const off of subscriptions) off();
      await Promise.all(
        [...liveCalls()].filter((call) => call.isWithAgent).map((call) => call.hangup().catch((err) => log.warn("could not hang up a call on stop", { err }))),
      );
    },
  };
}
