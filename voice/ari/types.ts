// The parts of Asterisk's ARI models and events the voice bridge reads, written from the published ARI
// description (Swagger 1.1, `channels`, `bridges`, `playbacks`, `applications`, `asterisk`, `events`).
// Field names are ARI's own (snake_case included). Only what the bridge uses is typed; the rest passes through.

export interface CallerId {
  name: string;
  number: string;
}

/** Where a channel is in the dialplan (ARI's DialplanCEP). */
export interface DialplanCep {
  context: string;
  exten: string;
  priority: number;
  app_name: string;
  app_data: string;
}

export type ChannelState =
  | "Down"
  | "Rsrved"
  | "OffHook"
  | "Dialing"
  | "Ring"
  | "Ringing"
  | "Up"
  | "Busy"
  | "Dialing Offhook"
  | "Pre-ring"
  | "Unknown";

export interface Channel {
  id: string;
  name: string;
  state: ChannelState;
  caller: CallerId;
  connected: CallerId;
  accountcode: string;
  dialplan: DialplanCep;
  /** ISO 8601 with a numeric offset, as Asterisk writes it (e.g. 2026-11-22T10:00:00.000+0000). */
  creationtime: string;
  language: string;
  protocol_id?: string;
  /** Present on an externalMedia answer: UNICASTRTP_LOCAL_ADDRESS / UNICASTRTP_LOCAL_PORT say where to send audio. */
  channelvars?: Record<string, string>;
}

/** A channel variable's value (GET /channels/{id}/variable). */
export interface Variable {
  value: string;
}

export interface Bridge {
  id: string;
  technology: string;
  bridge_type: "mixing" | "holding";
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
}

export interface Playback {
  id: string;
  media_uri: string;
  target_uri: string;
  state: "queued" | "playing" | "continuing" | "done" | "failed";
  language?: string;
}

export interface Application {
  name: string;
  channel_ids: string[];
  bridge_ids: string[];
  endpoint_ids: string[];
  device_names: string[];
}

export interface AsteriskInfo {
  system?: { version: string; entity_id: string };
  build?: { os: string; kernel: string; machine: string; date: string; user: string; options: string };
  config?: { name: string; default_language: string };
  status?: { startup_time: string; last_reload_time: string };
}

// ---- events -------------------------------------------------------------------------------------------------

interface EventBase {
  application: string;
  timestamp: string;
  asterisk_id?: string;
}

export interface StasisStart extends EventBase {
  type: "StasisStart";
  /** The `Stasis(app,arg1,arg2…)` arguments, or an originate's `appArgs` split at commas. */
  args: string[];
  channel: Channel;
  replace_channel?: Channel;
}

export interface StasisEnd extends EventBase {
  type: "StasisEnd";
  channel: Channel;
}

/** Sent when the digit ends. */
export interface ChannelDtmfReceived extends EventBase {
  type: "ChannelDtmfReceived";
  digit: string;
  duration_ms: number;
  channel: Channel;
}

export interface ChannelHangupRequest extends EventBase {
  type: "ChannelHangupRequest";
  /** Q.850 cause (16 normal clearing, 17 busy, 19 no answer, 21 rejected). */
  cause?: number;
  soft?: boolean;
  channel: Channel;
}

export interface ChannelDestroyed extends EventBase {
  type: "ChannelDestroyed";
  cause: number;
  cause_txt: string;
  channel: Channel;
}

export interface ChannelStateChange extends EventBase {
  type: "ChannelStateChange";
  channel: Channel;
}

export interface PlaybackStarted extends EventBase {
  type: "PlaybackStarted";
  playback: Playback;
}

export interface PlaybackFinished extends EventBase {
  type: "PlaybackFinished";
  playback: Playback;
}

export interface Dial extends EventBase {
  type: "Dial";
  caller?: Channel;
  peer: Channel;
  dialstring?: string;
  /** "" while dialing, then ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, … */
  dialstatus: string;
}

/** Events the bridge listens for, by their `type`. */
export interface AriEventMap {
  StasisStart: StasisStart;
  StasisEnd: StasisEnd;
  ChannelDtmfReceived: ChannelDtmfReceived;
  ChannelHangupRequest: ChannelHangupRequest;
  ChannelDestroyed: ChannelDestroyed;
  ChannelStateChange: ChannelStateChange;
  PlaybackStarted: PlaybackStarted;
  PlaybackFinished: PlaybackFinished;
  Dial: Dial;
}

export type AriEventType = keyof AriEventMap;
export type KnownAriEvent = AriEventMap[AriEventType];

/** Any other message on the stream (ChannelVarset, BridgeCreated, ApplicationReplaced, …), passed through untyped. */
export interface OtherAriEvent extends Partial<EventBase> {
  type: string;
  [field: string]: unknown;
}

export type AriEvent = KnownAriEvent | OtherAriEvent;
