// How the bridge places and announces calls. Passed in by whoever starts it (no environment is read here).
import type { PhoneRegion } from "../../src/platform/e164.ts";

export interface BridgeSettings {
  /** This server's address as Asterisk sees it: externalMedia sends a call's RTP to rtpHost:localPort. */
  rtpHost: string;
  /**
   * Starts the name of every bridge this replica makes: `flowyte/<app>/<replica id>`, so a replica taking the
   * application over finds the ones a dead replica left (bridgeTag(), takeover.ts).
   */
  bridgeTag: string;
  /**
   * How a transfer destination is dialed. `{number}` is the destination as given (+15551234567), `{digits}` the
   * same without the +. `Local/{number}@flowyte-transfer` hands it to the dialplan (extensions.conf) instead.
   */
  dialString: string;
  /** What the caller hears while a transfer rings: a `tone:` (tones need no sound files) or `sound:` URI. */
  ringback: string;
  /** Played to calls on a number no agent answers, before hanging up. */
  unassignedAnnouncement: string;
  /**
   * Played, in turn, to calls on an assigned number whose agent cannot take them (not published, paused, or no
   * media port free), before hanging up.
   */
  unavailableAnnouncement: string[];
  /** How long a transfer destination may ring. */
  transferTimeoutMs: number;
  /** How long to wait for an externalMedia channel to enter the application. */
  mediaStartTimeoutMs: number;
  /** How long a warm transfer waits for the briefing hook before connecting anyway. */
  briefingTimeoutMs: number;
  /** How a dialed number the trunk presents without `+` is read (the server's DEFAULT_PHONE_REGION). */
  phoneRegion: PhoneRegion;
}

/** The start of the names of the bridges the replicas serving `app` make. */
export function bridgePrefix(app: string): string {
  return `flowyte/${app}/`;
}

export function bridgeTag(app: string, replicaId: string): string {
  return `${bridgePrefix(app)}${replicaId}`;
}

export const DEFAULT_SETTINGS: Omit<BridgeSettings, "rtpHost" | "bridgeTag"> = {
  dialString: "PJSIP/{number}@trunk",
  // North American ringback (ITU-T E.180): 440+480 Hz, 2 s on, 4 s off.
  ringback: "tone:440+480/2000,0/4000",
  // "The number you have dialed is not in service. Please check the number and try again."
  unassignedAnnouncement: "sound:ss-noservice",
  // "I'm sorry." "Please try your call again later." (both in Asterisk's core sounds, as ss-noservice is)
  unavailableAnnouncement: ["sound:im-sorry", "sound:please-try-call-later"],
  transferTimeoutMs: 30_000,
  mediaStartTimeoutMs: 5_000,
  briefingTimeoutMs: 120_000,
  phoneRegion: "US",
};

/**
 * StasisStart args that mark channels this bridge created itself (externalMedia, transfer legs), so they are
 * never mistaken for inbound calls. The dialplan passes the dialed number instead, which never has a colon.
 */
export const MEDIA_LEG = "flowyte:media";
export const TRANSFER_LEG = "flowyte:transfer";

export function isMediaLeg(args: string[]): boolean {
  return args[0] === MEDIA_LEG;
}

export function isTransferLeg(args: string[]): boolean {
  return args[0] === TRANSFER_LEG;
}

export function isOwnLeg(args: string[]): boolean {
  return args[0] === MEDIA_LEG || args[0] === TRANSFER_LEG;
}
