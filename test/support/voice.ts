// What the voice tests share: a caller's speech from espeak-ng, the keypad playbook both the phone call and the
// in-browser test fill, and the caller's end of a call through the ARI stand-in (its media, keys, what it hears).
import { decodeSlin, decodeUlaw, decodeWav, float32ToInt16, resample, serializeRtp } from "../../voice/media/index.ts";
import { type agentBuilder, oneSlotGraph } from "./agent-builder.ts";
import type { AriStandIn, StandInMedia } from "./ari-stand-in.ts";
import { until } from "./until.ts";

/**
 * What the voice tests allow real work (espeak-ng, Silero on its threads, storage) on a machine whose cores may be
 * kept busy by something else: waits are for events, and these only bound them.
 */
export const CALL_TEST_TIMEOUT_MS = 240_000;
/** For a hook that starts the app (a first PGlite start migrates a template; on a loaded machine that took 70 s). */
export const SLOW_SETUP = { timeout: 240_000 };

/** espeak-ng speech as 16-bit samples at `rate`: 8 kHz for a phone line, 16 kHz for a browser microphone. */
export async function spoken(text: string, rate: number): Promise<Int16Array> {
  const proc = Bun.spawn(["espeak-ng", "--stdout", "-v", "en-us", text], { stdout: "pipe" });
  const wav = decodeWav(new Uint8Array(await new Response(proc.stdout).arrayBuffer()));
  return float32ToInt16(resample(wav.samples, wav.sampleRate, rate));
}

/** A playbook that collects a 5-digit ZIP code, by keypad or by voice, and ends saying it back. */
export function addZipCheckPlaybook(b: ReturnType<typeof agentBuilder>, agentId: string) {
  return b.playbook(
    agentId,
    { name: "ZIP check", description: "check whether we deliver to a ZIP code" },
    oneSlotGraph({ variable: "zip", prompt: "Please key in your ZIP code.", slotType: "digits", dtmf: { enabled: true, expectedDigits: 5 } }, "Thanks, ZIP {zip} noted."),
  );
}

/** The stand-in's end of the media channel the app bridged with `channelId` (requests from index `since` on). */
export function bridgedMedia(standIn: AriStandIn, since: number, channelId: string): Promise<StandInMedia> {
  return until(() => {
    const joined = standIn.requests.slice(since).find((r) => r.operation === "bridges.addChannel" && String(r.query.channel).split(",").includes(channelId));
    const mediaId = joined && String(joined.query.channel).split(",").find((c) => c !== channelId);
    return mediaId ? standIn.media(mediaId) : undefined;
  });
}

/** A packet the agent sent the caller: when it arrived, its payload type and size, and its loudness (RMS). */
export interface Heard {
  at: number;
  payloadType: number;
  bytes: number;
  energy: number;
}

/** Everything the agent sends the caller, decoded by payload type (0 µ-law, 11 big-endian slin at 8 kHz). */
export function listen(media: StandInMedia) {
  const heard: Heard[] = [];
  let stop = false;
  void (async () => {
    while (!stop) {
      const packet = await media.nextPacket(60_000).catch(() => null);
      if (!packet) continue;
      const payloadType = packet[1]! & 0x7f;
      const payload = packet.subarray(12);
      const pcm = payloadType === 11 ? decodeSlin(payload) : decodeUlaw(payload);
      let sum = 0;
      for (const x of pcm) sum += x * x;
      heard.push({ at: performance.now(), payloadType, bytes: payload.length, energy: Math.sqrt(sum / pcm.length) });
    }
  })();
  return { heard, stop: () => (stop = true) };
}

/**
 * A key pressed as an RFC 4733 telephone-event (PT 101): start, updates, and three end packets, as Asterisk sends
 * them; `at` is the caller's RTP sequence and timestamp, moved on past the event.
 */
export async function pressKey(media: StandInMedia, digit: string, at: { seq: number; ts: number }, ssrc = 0x4321) {
  const event = "0123456789*#".indexOf(digit);
  for (let i = 1; i <= 5; i++) {
    const payload = new Uint8Array([event, (i >= 3 ? 0x80 : 0) | 10, 0, 0]);
    new DataView(payload.buffer).setUint16(2, Math.min(i, 3) * 160);
    media.send(serializeRtp({ payloadType: 101, sequenceNumber: at.seq++ & 0xffff, timestamp: at.ts, ssrc, marker: i === 1 }, payload));
    await Bun.sleep(20);
  }
  at.ts += 480;
}
