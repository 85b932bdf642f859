// What a call leaves behind for the operator, over an in-memory transport on a fake clock (test/voice/call.test.ts
// has the whole path with real RTP): barge-in between two sentences recorded as a stopped playback, at call time
// although the caller's audio arrives with gaps (Asterisk sends nothing while the caller is silent); a warm
// transfer's briefing kept from the recognizer and recorded as part of the handoff; the channel's own lines said
// through the runtime; the call's log lines; and the stand-in voice chosen by the agent's language and region.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { defaultConfig } from "../../src/api/agents/config.ts";
import { createLogger } from "../../src/platform/log.ts";
import type { CompiledConfig } from "../../src/runtime/compiled.ts";
import { ConversationRuntime, type RuntimeInput, type TurnResult } from "../../src/runtime/conversation.ts";
import { ConversationStore } from "../../src/runtime/store.ts";
import { CallSession, type CallTransport } from "../../voice/call/index.ts";
import type { CallSessionOptions } from "../../voice/call/types.ts";
import { EnergyVadFactory } from "../../voice/speech/index.ts";
import { EspeakTextToSpeech, listEspeakVoices, standInOf, VoiceRouter } from "../../voice/speech/tts.ts";
import type { TextToSpeech } from "../../voice/speech/types.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { FakeClock } from "../support/fake-clock.ts";
import { ScriptedSpeechToText } from "../support/scripted-stt.ts";
import { SLOW_SETUP } from "../support/voice.ts";

const result = (replies: string[], more: Partial<TurnResult> = {}): TurnResult => ({
  conversationId: "conv_1",
  userMessage: null,
  replies: replies.map((text, i) => ({ id: `m${i}`, text, tsMs: 0, language: "en" })),
  transfer: null,
  ended: false,
  endReason: null,
  awaitingDtmf: null,
  ...more,
});

async function drive(clock: FakeClock, check: () => boolean, limitMs = 20_000) {
  for (const end = clock.now() + limitMs; !check(); ) {
    if (clock.now() >= end) throw new Error(`not reached within ${limitMs} ms of call time`);
    await clock.advance(10);
  }
}

/**
 * A call with a scripted runtime (what each caller text gets back), a recognizer that says what it is told, and a
 * transport whose playback takes 8 samples a ms of call time. `synthMs` per sentence makes the gap between two.
 */
function call(o: { replies: Record<string, TurnResult>; greeting?: string[]; synthMs?: number; stt?: ScriptedSpeechToText | null; tts?: TextToSpeech; voiceId?: string; transfer?: CallSessionOptions["transfer"] }) {
  const clock = new FakeClock();
  const notes: { type: string; payload: Record<string, unknown> }[] = [];
  const announced: unknown[] = [];
  const inputs: RuntimeInput[] = [];
  const logged: string[] = [];
  const plays: number[] = [];
  const runtime = {
    start: async () => result(o.greeting ?? []),
    turn: async (_org: string, _id: string, input: RuntimeInput) => {
      inputs.push(input);
      return o.replies[input.type === "text" ? input.text : input.type] ?? result([]);
    },
    end: async () => {},
    note: (_id: string, type: string, payload: Record<string, unknown>) => notes.push({ type, payload }),
    announce: async (_org: string, _id: string, said: unknown) => {
      announced.push(said);
      return result("phrase" in (said as object) ? [`[${(said as { phrase: string }).phrase.replace(".", "_")}]`] : []);
    },
    awaitingDtmf: () => null,
  } as unknown as ConversationRuntime;
  let hear: (samples: Int16Array) => void = () => {};
  let playing: { resolve: (r: { finished: boolean; playedMs: number }) => void; timer: unknown; ms: number } | null = null;
  const transport: CallTransport = {
    inputRate: 16000,
    outputRate: 8000,
    onAudio: (listener) => void (hear = listener),
    onDtmf: () => {},
    play: (samples, started) =>
      new Promise((resolve) => {
        started?.();
        const ms = samples.length / 8;
        plays.push(ms);
        const timer = clock.setTimeout(() => {
          playing = null;
          resolve({ finished: true, playedMs: ms });
        }, ms);
        playing = { resolve, ms, timer };
      }),
    clear: () => {
      if (!playing) return;
      clock.clearTimeout(playing.timer);
      playing.resolve({ finished: false, playedMs: 0 });
      playing = null;
    },
    get playing() {
      return playing !== null;
    },
  };
  const tts: TextToSpeech = o.tts ?? {
    synthesize: async (text) => {
      await clock.sleep(o.synthMs ?? 0);
      return { samples: new Float32Array(text.length * 40), sampleRate: 8000 };
    },
    voices: () => [],
  };
  const compiled = {
    agent: { endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 }, callControl: { maxCallSeconds: 600, idleReminderDelaySeconds: 300 }, voiceMap: {}, defaultVoiceId: o.voiceId ?? null, primaryLanguage: "en", voiceSettings: {}, lexicon: { pronunciations: [] } },
  } as unknown as CompiledConfig;
  const session = new CallSession({
    runtime,
    speech: { vad: new EnergyVadFactory(), stt: o.stt === undefined ? new ScriptedSpeechToText() : o.stt, tts },
    transport,
    start: { organizationId: "org_1", agentId: "agt_1", agentVersionId: null, draftMode: false, compiled, source: "voice", callerNumber: "+15550001111", metadata: { dialedNumber: "+15557654321", channelId: "chan_1" } },
    transfer: o.transfer,
    hangup: async () => {},
    log: createLogger("debug", (line) => logged.push(line)),
    clock,
  });
  const running = session.run();
  let sample = 0;
  /** 20 ms of the caller talking (a loud tone) or of line noise, arriving now. */
  const frame = (talking: boolean) => {
    const f = new Int16Array(320);
    for (let i = 0; i < 320; i++, sample++) f[i] = talking ? Math.round(8000 * Math.sin((2 * Math.PI * 300 * sample) / 16000)) : Math.round((Math.random() - 0.5) * 20);
    hear(f);
  };
  for (let f = 0; f < 50; f++) frame(false); // the line's noise floor, before anyone talks
  return {
    clock,
    notes,
    announced,
    inputs,
    logged,
    plays,
    session,
    /** The caller talks for `ms` of call time, in real-time frames; then the line goes quiet (nothing is sent). */
    async talks(ms: number) {
      for (let t = 0; t < ms; t += 20) {
        frame(true);
        await clock.advance(20);
      }
    },
    until: (check: () => boolean, limitMs?: number) => drive(clock, check, limitMs),
    async hangUp() {
      let over = false;
      const stopped = session
        .callerHungUp()
        .then(() => running)
        .finally(() => (over = true));
      await drive(clock, () => over);
      await stopped;
    },
  };
}

it("records a barge-in between two sentences as a stopped playback, at call time although the caller's audio had gaps", async () => {
  // The second sentence takes 300 ms to synthesize: the caller cuts in while nothing is on the wire.
  const c = call({ greeting: ["Thanks for calling.", "We are open every day from nine in the morning until late."], synthMs: 300, replies: {} });
  await c.until(() => c.plays.length === 1);
  const firstMs = c.plays[0]!;
  await c.clock.advance(firstMs + 50); // the first sentence has played; the second is still being synthesized
  expect(c.plays.length).toBe(1);
  // Only the 1 s of noise before the greeting was ever sent as audio: counted audio would put this near 1,000 ms.
  const cutIn = c.clock.now() - 1000; // call time: the clock started at 1000 when the call was answered
  await c.talks(400);
  const bargeIn = c.notes.find((n) => n.type === "barge_in");
  expect(bargeIn?.payload.stoppedPlayback).toBe(true);
  const atMs = bargeIn!.payload.atMs as number;
  expect(atMs).toBeGreaterThanOrEqual(cutIn);
  expect(atMs).toBeLessThan(cutIn + 400);
  await c.clock.advance(2000);
  expect(c.plays.length).toBe(1); // the rest of the greeting was dropped
  expect(c.logged.some((l) => l.includes("DEBUG caller barged in") && l.includes('"conversationId":"conv_1"'))).toBe(true);
  await c.hangUp();
});

it("keeps the human's audio during a warm briefing from the recognizer, and records the briefing with the handoff", async () => {
  const stt = new ScriptedSpeechToText();
  const transfer = { destination: "+14155550100", warm: true, summary: "Caller Ada wants a person about a leak.", reason: "caller asked" };
  let during: (() => Promise<void>) | null = null;
  const c = call({
    stt,
    replies: { "a person please": result(["Connecting you now."], { transfer }) },
    transfer: async (_t, brief) => {
      // The human answered and is bridged with the agent's media alone: they talk while being briefed.
      await Promise.all([brief(new AbortController().signal), during!()]);
      return { ok: true };
    },
  });
  during = () => c.talks(1200);
  stt.say("a person please");
  await c.talks(600);
  await c.until(() => c.inputs.length === 1);
  await c.until(() => c.announced.length === 1);
  await c.clock.advance(3000);
  expect(stt.heard.length).toBe(1); // only the caller's own request reached the recognizer
  expect(c.inputs.map((i) => i.type)).toEqual(["text"]);
  expect(c.announced).toEqual([{ briefing: transfer.summary, destination: transfer.destination, completed: true }]);
  expect(c.logged.some((l) => l.includes("INFO  transfer started") && l.includes('"conversationId":"conv_1"') && l.includes('"destination":"+14155550100"'))).toBe(true);
  expect(c.logged.some((l) => l.includes("INFO  transfer connected") && l.includes('"conversationId":"conv_1"'))).toBe(true);
  await c.hangUp();
  const ended = c.logged.find((l) => l.includes("INFO  call ended"));
  expect(ended).toContain('"reason":"transferred"');
  expect(ended).toMatch(/"durationMs":\d+/);
});

it("logs the answered call, a failed transfer with its cause, and the call's end with reason and duration", async () => {
  const transfer = { destination: "+14155550100", warm: false, summary: "", reason: "caller asked" };
  const stt = new ScriptedSpeechToText();
  const c = call({ stt, replies: { "a person please": result(["Connecting you now."], { transfer }) }, transfer: async () => ({ ok: false, reason: "busy", cause: 17 }) });
  stt.say("a person please");
  await c.talks(600);
  await c.until(() => c.inputs.some((i) => i.type === "transfer_failed"));
  await c.clock.advance(5000);
  await c.hangUp();
  const line = (text: string) => c.logged.find((l) => l.includes(text)) ?? "";
  expect(line("INFO  call answered")).toContain('"conversationId":"conv_1","agentId":"agt_1","source":"voice","dialedNumber":"+15557654321","callerNumber":"+15550001111"');
  expect(line("INFO  transfer failed")).toContain('"reason":"busy","cause":17');
  expect(line("DEBUG turn started")).toContain('"conversationId":"conv_1"');
  expect(line("INFO  call ended")).toMatch(/"conversationId":"conv_1","reason":"caller_hung_up","durationMs":\d+/);
  expect(c.logged.filter((l) => l.includes("call ended")).length).toBe(1);
});

it("says the channel's own lines through the runtime, by phrase id, and speaks what it rendered", async () => {
  const failing = { engine: "failing (test only)", heard: [], transcribe: async () => Promise.reject(new Error("recognizer down")) } as unknown as ScriptedSpeechToText;
  const c = call({ stt: failing, replies: {} });
  await c.talks(600);
  await c.until(() => c.announced.length === 1 && c.plays.length === 1);
  expect(c.announced).toEqual([{ phrase: "voice.didnt_catch" }]);
  expect(c.plays[0]).toBe("[voice_didnt_catch]".length * 5); // what the runtime returned is what was spoken
  await c.hangUp();

  const keypadOnly = call({ stt: null, replies: {} });
  await keypadOnly.talks(600);
  await keypadOnly.until(() => keypadOnly.announced.length === 1);
  expect(keypadOnly.announced).toEqual([{ phrase: "voice.no_recognizer" }]);
  await keypadOnly.hangUp();
});

const espeakVoices = listEspeakVoices();

it.skipIf(!espeakVoices.length)("stands in for a failed voice with espeak-ng's US English for `en`, British for `en-GB`, and logs it once per call", async () => {
  const broken: TextToSpeech = {
    synthesize: async () => Promise.reject(new Error("speech server is down")),
    voices: () => [{ id: "server:alloy", engine: "server", supportedLanguages: ["en"] } as never],
  };
  const router = new VoiceRouter({ server: broken as never, espeak: new EspeakTextToSpeech(espeakVoices, ["en"]) }, { log: createLogger("error") });
  const us = await router.synthesize("Hello.", { voiceId: "server:alloy", language: "en" });
  expect(standInOf(us)?.voiceId).toBe("espeak:en-us");
  const gb = await router.synthesize("Hello.", { voiceId: "server:alloy", language: "en-GB" });
  expect(standInOf(gb)?.voiceId).toMatch(/^espeak:en-gb/);

  const c = call({ tts: router, voiceId: "server:alloy", greeting: ["Hello there.", "How can I help?"], replies: {} });
  // Real espeak-ng runs in real time: let it, while call time moves on.
  while (c.plays.length < 2) {
    await Bun.sleep(5);
    await c.clock.advance(10);
  }
  const switched = c.logged.filter((l) => l.includes("another voice stands in"));
  expect(switched.length).toBe(1);
  expect(switched[0]).toContain('"conversationId":"conv_1"');
  expect(switched[0]).toContain('"voiceId":"espeak:en-us"');
  await c.hangUp();
});

describe("the channel's own lines in the real runtime", () => {
  let app: TestApp;
  let key: string;
  let organizationId: string;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp();
    const org = await app.newOrg();
    [key, organizationId] = [org.key, org.organizationId];
    agentId = (await app.api("POST", "/api/v1/agents", { key, body: { name: "Telefon" } })).body.data.id;
  }, SLOW_SETUP);
  afterAll(() => app.stop());

  it("stores each line as an agent message with its phrase id, in the conversation's language, and a briefing on the receipt only", async () => {
    const runtime = new ConversationRuntime({
      store: new ConversationStore(app.server.database.db),
      runSkill: async () => ({ kind: "error", code: "unused", message: "no skills here" }),
      llm: null,
      retriever: null,
      loadCompiled: async () => compiled,
      log: createLogger("error"),
    });
    const compiled: CompiledConfig = { agent: { name: "Telefon", ...defaultConfig(), primaryLanguage: "de", languages: ["de"] }, skills: [], playbooks: [], guardrails: [], callerVerification: [] };
    const opened = await runtime.start({ organizationId, agentId, agentVersionId: null, draftMode: true, compiled, source: "voice", channel: "voice" });
    const id = opened.conversationId;
    const said = await runtime.announce(organizationId, id, { phrase: "voice.no_recognizer" });
    expect(said.replies[0]!.language).toBe("de");
    await runtime.announce(organizationId, id, { briefing: "Ada möchte jemanden sprechen.", destination: "+14155550100", completed: true });

    const transcript = (await app.api("GET", `/api/v1/conversations/${id}/transcript`, { key })).body.data;
    const texts = JSON.stringify(transcript);
    expect(texts).toContain(said.replies[0]!.text);
    expect(texts).not.toContain("Ada möchte");
    const receipt = (await app.api("GET", `/api/v1/conversations/${id}/receipt`, { key })).body.data;
    const events = (Array.isArray(receipt) ? receipt : receipt.events) as { eventType: string; payload: Record<string, unknown> }[];
    const line = events.find((e) => e.eventType === "agent_message" && (e.payload.phrases as { id: string }[] | undefined)?.some((p) => p.id === "voice.no_recognizer"));
    expect(line?.payload).toMatchObject({ text: said.replies[0]!.text, language: "de" });
    expect(events.find((e) => e.eventType === "handoff")?.payload).toEqual({ status: "briefed", destination: "+14155550100", briefing: "Ada möchte jemanden sprechen.", completed: true });
    await runtime.end(organizationId, id, "caller_hung_up");
  });
});
