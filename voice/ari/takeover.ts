// What a replica does in Asterisk when it takes the Stasis application over from one that died: whatever the dead
// replica left in the application is found with GET /channels and GET /bridges (a Stasis application keeps its
// channels and bridges while no WebSocket is connected for it) and ended, so nothing is left behind:
// - its call bridges are destroyed, and its media and transfer legs hung up;
// - a caller it was talking to hears the unavailable announcement ("I'm sorry. Please try your call again later.")
//   and is hung up: the conversation's state died with the replica, so it cannot be picked up mid-sentence;
// - a caller still waiting to be answered (it entered Stasis while nobody took calls) is answered as a new call;
// - a caller it had handed to a person stays connected; the call ends when either of them hangs up.
import type { Logger } from "../../src/platform/log.ts";
import { playAnnouncement } from "./announcement.ts";
import { AriError, type AriClient } from "./client.ts";
import { bridgePrefix, isMediaLeg, isOwnLeg, isTransferLeg, type BridgeSettings } from "./settings.ts";
import type { StasisApp } from "./stasis.ts";
import type { Bridge, Channel } from "./types.ts";

export interface TakeoverSweep {
  /** Callers told the call ends, then hung up. */
  cutOff: string[];
  /** Media and transfer legs hung up. */
  legs: string[];
  bridges: string[];
  /** Callers waiting to be answered, now answered as new calls. */
  answered: string[];
  /** Transferred callers left talking to the person they were handed to. */
  transferred: string[];
}

/** The application's arguments when `channel` is in Stasis for `app`, else null. */
function stasisArgs(channel: Channel, app: string): string[] | null {
  if (channel.dialplan.app_name !== "Stasis") return null;
  const [name, ...args] = channel.dialplan.app_data.split(",");
  return name === app ? args : null;
}

export async function sweepAfterTakeover(client: AriClient, app: StasisApp, settings: BridgeSettings, log: Logger): Promise<TakeoverSweep> {
  const [channels, bridges] = await Promise.all([client.channels.list(), client.bridges.list()]);
  const left = new Map<string, { channel: Channel; args: string[] }>();
  for (const channel of channels) {
    const args = stasisArgs(channel, client.app);
    if (args && !app.claims(channel.id)) left.set(channel.id, { channel, args });
  }
  const sweep: TakeoverSweep = { cutOff: [], legs: [], bridges: [], answered: [], transferred: [] };
  const prefix = bridgePrefix(client.app);
  const work: Promise<void>[] = [];
  for (const bridge of bridges) {
    if (!bridge.name.startsWith(prefix) || app.ownsBridge(bridge.id)) continue;
    const members = bridge.channels.map((id) => left.get(id)).filter((m) => m !== undefined);
    if (members.some((m) => isTransferLeg(m.args)) && !members.some((m) => isMediaLeg(m.args))) {
      for (const m of members) {
        left.delete(m.channel.id);
        if (!isOwnLeg(m.args)) sweep.transferred.push(m.channel.id);
      }
      watchTransferred(client, bridge, log);
      continue;
    }
    sweep.bridges.push(bridge.id);
    work.push(ignoreGone(client.bridges.destroy(bridge.id), "could not destroy a bridge a dead replica left", log));
  }
  for (const { channel, args } of left.values()) {
    if (isOwnLeg(args)) {
      sweep.legs.push(channel.id);
      work.push(ignoreGone(client.channels.hangup(channel.id), "could not hang up a leg a dead replica left", log));
    } else if (channel.state !== "Up") {
      sweep.answered.push(channel.id);
      app.acceptWaiting(channel, args);
    } else {
      sweep.cutOff.push(channel.id);
      work.push(cutOff(client, channel.id, settings, log));
    }
  }
  await Promise.all(work);
  return sweep;
}

async function cutOff(client: AriClient, channelId: string, settings: BridgeSettings, log: Logger) {
  await playAnnouncement(client, channelId, settings.unavailableAnnouncement, log);
  await ignoreGone(client.channels.hangup(channelId), "could not hang up a call a dead replica left", log);
}

/** A transferred call nobody watches any more: when one side leaves, the other is hung up and the bridge goes. */
function watchTransferred(client: AriClient, bridge: Bridge, log: Logger) {
  const members = new Set(bridge.channels);
  const offs = [
    client.events.on("StasisEnd", (e) => members.has(e.channel.id) && end()),
    client.events.on("ChannelDestroyed", (e) => members.has(e.channel.id) && end()),
  ];
  function end() {
    for (const off of offs) off();
    void Promise.all([
      ...[...members].map((id) => ignoreGone(client.channels.hangup(id), "could not hang up a transferred call", log)),
      ignoreGone(client.bridges.destroy(bridge.id), "could not destroy a transferred call's bridge", log),
    ]);
  }
}

async function ignoreGone(request: Promise<void>, message: string, log: Logger) {
  try {
    await request;
  } catch (err) {
    // Gone already (the caller hung up meanwhile) is what was wanted.
    if (!(err instanceof AriError && err.status === 404)) log.warn(message, { err });
  }
}
