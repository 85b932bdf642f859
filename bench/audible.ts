// What the benches' callers hear: an RTP packet (μ-law, 12-byte header) carries sound when its RMS level is above
// line noise. Shared by bench/voice-call.ts and bench/soak.ts.
import { decodeUlaw } from "../voice/media/index.ts";

export function audible(packet: Uint8Array): boolean {
  const pcm = decodeUlaw(packet.subarray(12));
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return Math.sqrt(sum / pcm.length) > 200;
}
