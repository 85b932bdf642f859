// The call session's own decisions, over an in-memory transport with test doubles for the runtime and recognizers
// (the whole path with real RTP, VAD and runtime is test/voice/call.test.ts): when the runtime itself fails (its
// storage is down, say) the caller still hears an apology, never dead air; with a streaming recognizer the turn's
// text comes from the stream that heard it as it was spoken; endpointing ends turns at minSilenceMs, and at
// maxSilenceMs of silence when semantic endpointing waits; a reply ready while the caller talks waits for them.
// Idle reminders and the maximum call length run over the real runtime on the app's storage (it decides what a
// silence turn says, the session when to send one). What the runtime answers for itself (brain and skill errors)
// is tested in test/runtime/conversation.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { defaultConfig } from "../../src/api/agents/config.ts";
import { createLogger } from "../../src/platform/log.ts";
import type { CompiledConfig } from "../../src/runtime/compiled.ts";
import { ConversationRuntime, type TurnResult } from "../../src/runtime/conversation.ts";
import type { AuditEvent } from "../../src/runtime/receipt.ts";
import { ConversationStore } from "../../src/runtime/store.ts";
import { CallSession, type CallTransport } from "../../voice/call/index.ts";
import { EnergyVadFactory, type StreamingSpeechToText, type TranscriptionStream } from "../../voice/speech/index.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { FakeClock, settle } from "../support/fake-clock.ts";
import { SLOW_SETUP } from "../support/voice.ts";

/**
 * Every session here runs on a fake clock (test/support/fake-clock.ts), and so do the doubles that take time (a
 * slow runtime, recognizer or playback): timing is checked in exact virtual milliseconds, whatever the machine is
 * doing. `drive` moves the clock 10 ms at a time until `check` holds, failing after `limitMs` of virtual time;
 * `busy` holds the clock still while real work (the runtime's storage) is under way.
 */
async function drive(clock: FakeClock, check: () => boolean, limitMs = 20_000, busy: () => boolean = () => false) {
  for (const end = clock.now() + limitMs; !check(); ) {
    if (clock.now() >= end) throw new Error(`not reached within ${limitMs} ms of call time`);
    while (busy()) await Bun.sleep(2);
    await clock.advance(10);
  }
}

/** Hangs up and waits for the session to finish what it was doing (a playback, a turn), moving call time on. */
async function hangUp(clock: FakeClock, session: CallSession, running: Promise<void>) {
  let over = false;
  const stopped = session
    .callerHungUp()
    .then(() => running)
    .finally(() => (over = true));
  await drive(clock, () => over);
  await stopped;
}

it("apologises instead of going silent when a turn fails inside the runtime (failing runtime double)", async () => {
  const said: string[] = [];
  const logged: string[] = [];
  const announced: string[] = [];
  let turns = 0;
  const opened: TurnResult = { conversationId: "conv_1", userMessage: null, replies: [{ id: "m1", text: "Hello, how can I help?", tsMs: 0 }], transfer: null, ended: false, endReason: null, awaitingDtmf: null };
  const runtime = {
    start: async () => opened,
    turn: async () => {
      turns++;
      throw new Error("storage is down");
    },
    end: async () => {},
    note: () => {},
    // The channel's own lines go through the runtime, which renders them (storage being down, it cannot store them).
    announce: async (_org: string, conversationId: string, said: { phrase: string }) => {
      announced.push(said.phrase);
      return { conversationId, userMessage: null, replies: [{ id: "", text: "I'm sorry, something went wrong on my side. Could you say that again?", tsMs: 0, language: "en" }], transfer: null, ended: false, endReason: null, awaitingDtmf: null };
    },
    awaitingDtmf: () => ({ expectedDigits: 2 }),
  } as unknown as ConversationRuntime;

  let digit: (d: string) => void = () => {};
  const transport: CallTransport = {
    inputRate: 8000,
    outputRate: 8000,
    onAudio: () => {},
    onDtmf: (listener) => void (digit = listener),
    play: async (samples) => ({ finished: true, playedMs: samples.length / 8 }),
    clear: () => {},
    playing: false,
  };
  const compiled = {
    agent: { endpointing: {}, callControl: { maxCallSeconds: 30, idleReminderDelaySeconds: 30 }, voiceMap: {}, defaultVoiceId: null, primaryLanguage: "en", voiceSettings: {}, lexicon: { pronunciations: [] } },
  } as unknown as CompiledConfig;
  const clock = new FakeClock();
  const session = new CallSession({
    runtime,
    speech: {
      vad: new EnergyVadFactory(),
      stt: null,
      tts: { synthesize: async (text) => (said.push(text), { samples: new Float32Array(800), sampleRate: 8000 }), voices: () => [] },
    },
    transport,
    start: { organizationId: "org_1", agentId: "agt_1", agentVersionId: null, draftMode: true, compiled, source: "voice" },
    hangup: async () => {},
    log: createLogger("error", (line) => logged.push(line)),
    clock,
  });

  const running = session.run();
  await drive(clock, () => said.length > 0);
  digit("4");
  digit("2");
  await drive(clock, () => said.length >= 3);

  expect(turns).toBe(1);
  expect(logged.some((l) => l.includes("voice turn failed") && l.includes("storage is down"))).toBe(true);
  expect(said).toEqual(["Hello, how can I help?", "I'm sorry, something went wrong on my side.", "Could you say that again?"]);
  expect(announced).toEqual(["turn.failed"]);
  await hangUp(clock, session, running);
});

it("ends a conversation that was still opening when the call ended, before the hang-up resolves (slow runtime start)", async () => {
  const ended: string[] = [];
  let open!: () => void;
  const runtime = {
    start: () => new Promise((resolve) => (open = () => resolve({ conversationId: "conv_9", userMessage: null, replies: [], transfer: null, ended: false, endReason: null, awaitingDtmf: null }))),
    turn: async () => {
      throw new Error("no turn expected");
    },
    end: async (_org: string, id: string, reason: string) => void ended.push(`${id} ${reason}`),
    note: () => {},
    awaitingDtmf: () => null,
  } as unknown as ConversationRuntime;
  const compiled = { agent: { endpointing: {}, callControl: {}, voiceMap: {}, defaultVoiceId: null, primaryLanguage: "en", voiceSettings: {}, lexicon: { pronunciations: [] } } } as unknown as CompiledConfig;
  const session = new CallSession({
    runtime,
    speech: { vad: new EnergyVadFactory(), stt: null, tts: { synthesize: async () => ({ samples: new Float32Array(80), sampleRate: 8000 }), voices: () => [] } },
    transport: { inputRate: 8000, outputRate: 8000, onAudio: () => {}, onDtmf: () => {}, play: async () => ({ finished: true, playedMs: 10 }), clear: () => {}, playing: false },
    start: { organizationId: "org_1", agentId: "agt_1", agentVersionId: null, draftMode: true, compiled, source: "voice" },
    hangup: async () => {},
    log: createLogger("error"),
    clock: new FakeClock(),
  });
  const running = session.run();
  // The server stops while the conversation is still being opened: the hang-up waits for it to be open and ended.
  let hungUp = false;
  const hangingUp = session.callerHungUp("server_stopping").then(() => (hungUp = true));
  await settle();
  expect(hungUp).toBe(false);
  open();
  await hangingUp;
  expect(ended).toEqual(["conv_9 server_stopping"]);
  await running;
  expect(ended).toEqual(["conv_9 server_stopping"]); // ended once
});

// ---- speech recognized while the caller speaks (a clearly named scripted streaming recognizer) ----------------

class ScriptedStreamingRecognizer implements StreamingSpeechToText {
  readonly engine = "scripted streaming (test only)";
  /** Samples each stream had accepted when it was finished. */
  readonly heardAtFinish: number[] = [];
  constructor(
    readonly language: string,
    private readonly texts: (string | Error)[],
  ) {}
  open(): TranscriptionStream {
    let samples = 0;
    return {
      accept: (s) => void (samples += s.length),
      finish: async () => {
        this.heardAtFinish.push(samples);
        const next = this.texts.shift() ?? "";
        if (next instanceof Error) throw next;
        return { text: next, language: this.language, confidence: null };
      },
      cancel: () => {},
    };
  }
}

function streamingCall(o: { language?: string; semantic?: boolean; streaming: ScriptedStreamingRecognizer }) {
  const clock = new FakeClock();
  const inputs: string[] = [];
  const offline: number[] = [];
  const runtime = {
    start: async () => ({ conversationId: "conv_2", userMessage: null, replies: [], transfer: null, ended: false, endReason: null, awaitingDtmf: null }),
    turn: async (_org: string, _id: string, input: { type: string; text?: string }) => {
      inputs.push(input.text ?? input.type);
      return { conversationId: "conv_2", userMessage: null, replies: [], transfer: null, ended: false, endReason: null, awaitingDtmf: null };
    },
    end: async () => {},
    note: () => {},
    awaitingDtmf: () => null,
  } as unknown as ConversationRuntime;
  let hear: (samples: Int16Array) => void = () => {};
  const transport: CallTransport = {
    inputRate: 16000,
    outputRate: 16000,
    onAudio: (listener) => void (hear = listener),
    onDtmf: () => {},
    play: async (samples) => ({ finished: true, playedMs: samples.length / 16 }),
    clear: () => {},
    playing: false,
  };
  const compiled = {
    agent: {
      endpointing: { minSilenceMs: 400, maxSilenceMs: 1000, semantic: o.semantic ?? false },
      callControl: { maxCallSeconds: 30, idleReminderDelaySeconds: 30 },
      voiceMap: {},
      defaultVoiceId: null,
      primaryLanguage: o.language ?? "en-US",
      voiceSettings: {},
      lexicon: { pronunciations: [] },
    },
  } as unknown as CompiledConfig;
  const session = new CallSession({
    runtime,
    speech: {
      vad: new EnergyVadFactory(),
      stt: { engine: "scripted offline (test only)", transcribe: async (s) => (offline.push(s.length), { text: "heard whole", language: "en", confidence: null }) },
      streaming: o.streaming,
      tts: { synthesize: async () => ({ samples: new Float32Array(160), sampleRate: 16000 }), voices: () => [] },
    },
    transport,
    start: { organizationId: "org_1", agentId: "agt_1", agentVersionId: null, draftMode: true, compiled, source: "voice" },
    hangup: async () => {},
    log: createLogger("error", () => {}),
    clock,
  });
  const running = session.run();
  /** 20 ms frames: faint noise, or a loud tone while `talking`. */
  const frames = (ms: number, talking: boolean) => {
    for (let f = 0; f < ms / 20; f++) {
      const frame = new Int16Array(320);
      for (let i = 0; i < 320; i++) frame[i] = talking ? Math.round(8000 * Math.sin((2 * Math.PI * 300 * (f * 320 + i)) / 16000)) : Math.round((Math.random() - 0.5) * 20);
      hear(frame);
    }
  };
  frames(1000, false); // the line's noise floor, before anyone talks
  /** The caller talks for `ms`, then falls silent long enough to end the utterance. */
  const says = (ms: number) => (frames(ms, true), frames(400, false));
  return { clock, inputs, offline, says, until: (check: () => boolean) => drive(clock, check), stop: () => hangUp(clock, session, running) };
}

it("takes the turn's text from the stream that heard it as it was spoken, pre-roll included (scripted streaming recognizer)", async () => {
  const streaming = new ScriptedStreamingRecognizer("en", ["what are your opening hours"]);
  const call = streamingCall({ streaming });
  call.says(800);
  await call.until(() => call.inputs.length > 0);
  expect(call.inputs).toEqual(["what are your opening hours"]);
  expect(call.offline).toEqual([]);
  // The whole 800 ms of speech reached the stream, and some of the audio before the VAD confirmed it.
  expect(streaming.heardAtFinish[0]!).toBeGreaterThan(16 * 800);
  await call.stop();
});

it("joins what a streamed turn said before and after a semantic wait (scripted streaming recognizer)", async () => {
  const streaming = new ScriptedStreamingRecognizer("en", ["I would like to book and", "a table for two"]);
  const call = streamingCall({ streaming, semantic: true });
  call.says(600);
  await call.clock.advance(250); // the first part is transcribed and sounds unfinished: the session waits for more
  expect(call.inputs).toEqual([]);
  call.says(600);
  await call.until(() => call.inputs.length > 0);
  expect(call.inputs).toEqual(["I would like to book and a table for two"]);
  await call.stop();
});

it("hears the whole utterance instead when the stream fails, or the call is in another language (scripted recognizers)", async () => {
  const failing = new ScriptedStreamingRecognizer("en", [new Error("model crashed")]);
  const call = streamingCall({ streaming: failing });
  call.says(600);
  await call.until(() => call.inputs.length > 0);
  expect(call.inputs).toEqual(["heard whole"]);
  expect(call.offline.length).toBe(1);
  await call.stop();

  const english = new ScriptedStreamingRecognizer("en", ["never used"]);
  const german = streamingCall({ streaming: english, language: "de-DE" });
  german.says(600);
  await german.until(() => german.inputs.length > 0);
  expect(german.inputs).toEqual(["heard whole"]);
  expect(english.heardAtFinish).toEqual([]);
  await german.stop();
});

// ---- a scripted call: a runtime double whose turns take as long as a test says, an offline recognizer double, and
// a transport that records what was played and when ----------------------------------------------------------------

interface ScriptedCallOptions {
  endpointing: { minSilenceMs: number; maxSilenceMs: number; semantic?: boolean };
  /** What the recognizer hears in each utterance, in order, and how long it takes. */
  heard: string[];
  sttMs?: number;
  /** Each turn's reply and how long the runtime takes to produce it, by the caller's text. */
  replies?: Record<string, { text: string; ms: number; language?: string }>;
  /** How long each playback lasts. */
  playMs?: number;
  replyHoldLimitMs?: number;
  /** Agent settings over the defaults (languages, voices). */
  agent?: Record<string, unknown>;
}

function scriptedCall(o: ScriptedCallOptions) {
  const clock = new FakeClock();
  const turns: { text: string; at: number; doneAt?: number }[] = [];
  const plays: { text: string; at: number; end?: number }[] = [];
  const notes: { type: string; payload: Record<string, unknown> }[] = [];
  const transcribed: number[] = [];
  let clears = 0;
  let playing = 0;
  const synthesized: { text: string; voiceId?: string; language?: string }[] = [];
  const sttLanguages: (string | undefined)[] = [];
  const reply = (text: string | null, language?: string) => ({ conversationId: "conv_3", userMessage: null, replies: text ? [{ id: "m", text, tsMs: 0, language }] : [], transfer: null, ended: false, endReason: null, awaitingDtmf: null });
  const runtime = {
    start: async () => reply(null),
    turn: async (_org: string, _id: string, input: { type: string; text?: string }) => {
      const turn: (typeof turns)[number] = { text: input.text ?? input.type, at: clock.now() };
      turns.push(turn);
      const scripted = o.replies?.[turn.text];
      if (scripted?.ms) await clock.sleep(scripted.ms);
      turn.doneAt = clock.now();
      return reply(scripted?.text ?? null, scripted?.language);
    },
    end: async () => {},
    note: (_id: string, type: string, payload: Record<string, unknown>) => void notes.push({ type, payload }),
    awaitingDtmf: () => null,
  } as unknown as ConversationRuntime;
  // Each text's audio has a length of its own, so a playback says which text it is.
  const texts: string[] = [];
  const audioOf = (text: string) => {
    if (!texts.includes(text)) texts.push(text);
    return new Float32Array(160 * texts.indexOf(text) + 160);
  };
  let hear: (samples: Int16Array) => void = () => {};
  const transport: CallTransport = {
    inputRate: 16000,
    outputRate: 16000,
    onAudio: (listener) => void (hear = listener),
    onDtmf: () => {},
    play: async (samples) => {
      const play: (typeof plays)[number] = { text: texts[samples.length / 160 - 1]!, at: clock.now() };
      plays.push(play);
      playing++;
      if (o.playMs) await clock.sleep(o.playMs);
      playing--;
      play.end = clock.now();
      return { finished: true, playedMs: o.playMs ?? 0 };
    },
    clear: () => void clears++,
    get playing() {
      return playing > 0;
    },
  };
  const compiled = {
    agent: { endpointing: o.endpointing, callControl: { maxCallSeconds: 60, idleReminderDelaySeconds: 60 }, voiceMap: {}, defaultVoiceId: null, primaryLanguage: "en", languages: ["en"], languageMode: "single_language", voiceSettings: {}, lexicon: { pronunciations: [] }, ...o.agent },
  } as unknown as CompiledConfig;
  const session = new CallSession({
    runtime,
    speech: {
      vad: new EnergyVadFactory(),
      stt: {
        engine: "scripted offline (test only)",
        transcribe: async (_samples, opts) => {
          sttLanguages.push(opts?.language);
          transcribed.push(clock.now());
          if (o.sttMs) await clock.sleep(o.sttMs);
          return { text: o.heard.shift() ?? "", language: "en", confidence: null };
        },
      },
      tts: { synthesize: async (text, opts) => (synthesized.push({ text, voiceId: opts?.voiceId, language: opts?.language }), { samples: audioOf(text), sampleRate: 16000 }), voices: () => [] },
    },
    transport,
    start: { organizationId: "org_1", agentId: "agt_1", agentVersionId: null, draftMode: true, compiled, source: "voice" },
    hangup: async () => {},
    log: createLogger("error", () => {}),
    replyHoldLimitMs: o.replyHoldLimitMs,
    clock,
  });
  const running = session.run();
  let sample = 0;
  const frame = (talking: boolean) => {
    const f = new Int16Array(320);
    for (let i = 0; i < 320; i++, sample++) f[i] = talking ? Math.round(8000 * Math.sin((2 * Math.PI * 300 * sample) / 16000)) : Math.round((Math.random() - 0.5) * 20);
    hear(f);
  };
  /** `ms` of audio at once: faint noise, or a loud tone while `talking`. */
  const burst = (ms: number, talking: boolean) => {
    for (let f = 0; f < ms / 20; f++) frame(talking);
  };
  burst(1000, false); // the line's noise floor, before anyone talks
  return {
    clock,
    turns,
    plays,
    notes,
    transcribed,
    synthesized,
    sttLanguages,
    clears: () => clears,
    /** The caller talks for `ms` and falls silent (as a burst): the VAD's speech_end comes as this returns. */
    says: (ms: number) => (burst(ms, true), burst(400, false), clock.now()),
    /** The caller talks for `ms` of call time, then the line goes quiet (as Asterisk sends nothing); when they stopped. */
    async talks(ms: number) {
      for (let t = 0; t < ms; t += 20) {
        frame(true);
        await clock.advance(20);
      }
      return clock.now();
    },
    until: (check: () => boolean) => drive(clock, check),
    stop: () => hangUp(clock, session, running),
  };
}

it("holds a reply that is ready while the caller talks until their turn ends, then answers what they said after it (slow scripted runtime)", async () => {
  const call = scriptedCall({
    endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 },
    heard: ["what time do you open", "and on sundays"],
    replies: { "what time do you open": { text: "We open at nine.", ms: 500 }, "and on sundays": { text: "Sundays we open at ten.", ms: 0 } },
    playMs: 300,
  });
  call.says(600);
  await call.until(() => call.turns.length === 1);
  // The agent is thinking; the caller speaks up and goes on past the moment the reply is ready.
  const stopped = await call.talks(1000);
  await call.until(() => call.plays.length === 2);

  const [first, second] = call.plays;
  expect(call.turns[0]!.doneAt!).toBeLessThan(stopped); // the reply was ready while they talked…
  expect(first!.text).toBe("We open at nine.");
  // …and waited for the end of their turn: the VAD's trailing silence (the session fills the quiet line), then the
  // rest of minSilenceMs.
  expect(first!.at - stopped).toBe(420);
  expect(call.clears()).toBe(0); // nothing was cut off: nothing had started
  const held = call.notes.find((n) => n.type === "barge_in")!.payload;
  expect(held).toMatchObject({ held: true, stoppedPlayback: false });
  expect(held.heldMs).toBe(first!.at - call.turns[0]!.doneAt!);
  // Their new utterance is its own turn, answered after the held reply played.
  expect(call.turns.map((t) => t.text)).toEqual(["what time do you open", "and on sundays"]);
  expect(call.turns[1]!.at).toBeGreaterThanOrEqual(first!.end!);
  expect(second!.text).toBe("Sundays we open at ten.");
  await call.stop();
});

it("plays a held reply anyway once the caller has talked past the hold limit (slow scripted runtime)", async () => {
  const call = scriptedCall({
    endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 },
    heard: ["what time do you open", ""],
    replies: { "what time do you open": { text: "We open at nine.", ms: 200 } },
    replyHoldLimitMs: 300,
  });
  call.says(600);
  await call.until(() => call.turns.length === 1);
  const stopped = await call.talks(1200);
  await call.until(() => call.plays.length === 1);
  const ready = call.turns[0]!.doneAt!;
  expect(call.plays[0]!.at).toBeLessThan(stopped);
  expect(call.plays[0]!.at - ready).toBe(300);
  expect(call.notes.find((n) => n.type === "barge_in")!.payload).toMatchObject({ held: true, holdLimitReached: true });
  await call.stop();
});

it("stops the reply when the caller talks over it: playback cleared, the rest of the reply dropped, barge_in recorded (scripted runtime)", async () => {
  const call = scriptedCall({
    endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 },
    heard: ["what time do you open", "sorry, just sundays"],
    replies: { "what time do you open": { text: "We open at nine. On Sundays we open at ten.", ms: 0 } },
    playMs: 1000,
  });
  call.says(600);
  await call.until(() => call.plays.length === 1);
  await call.clock.advance(200);
  call.says(400); // the caller talks over the first sentence
  expect(call.clears()).toBe(1);
  expect(call.notes.find((n) => n.type === "barge_in")!.payload).toMatchObject({ stoppedPlayback: true });
  await call.until(() => call.turns.length === 2);
  expect(call.plays.map((p) => p.text)).toEqual(["We open at nine."]); // the second sentence never played
  await call.stop();
});

// ---- endpointing: minSilenceMs and maxSilenceMs ---------------------------------------------------------------

it("ends a turn after minSilenceMs without semantic endpointing, even one that sounds unfinished (scripted recognizer)", async () => {
  const call = scriptedCall({ endpointing: { minSilenceMs: 400, maxSilenceMs: 1500 }, heard: ["I would like to book a table and"] });
  const silent = call.says(600);
  await call.until(() => call.turns.length === 1);
  // speech_end came 300 ms into the silence, as `says` returned: 100 ms more make minSilenceMs; maxSilenceMs is far off.
  expect(call.turns[0]!.at - silent).toBe(100);
  expect(call.turns[0]!.text).toBe("I would like to book a table and");
  await call.stop();
});

it("with semantic endpointing, answers an unfinished-sounding turn at maxSilenceMs of silence, recognition time included (slow scripted recognizer)", async () => {
  const call = scriptedCall({ endpointing: { minSilenceMs: 400, maxSilenceMs: 1000, semantic: true }, heard: ["I would like to book a table and"], sttMs: 500 });
  const silent = call.says(600);
  await call.until(() => call.turns.length === 1);
  // maxSilenceMs (1000) is 700 ms after speech_end. Counting the wait from when the slow transcript arrived, and
  // transcribing again, would answer 1,700 ms after it.
  expect(call.turns[0]!.at - silent).toBe(700);
  expect(call.transcribed.length).toBe(1);
  await call.stop();
});

// ---- call control, with the real runtime on the app's storage (what each silence turn says is the runtime's) ----

it("answers in the language the caller switched to, with that language's voice, and lets the recognizer detect the language (scripted runtime)", async () => {
  const call = scriptedCall({
    endpointing: { minSilenceMs: 300, maxSilenceMs: 1200 },
    heard: ["hola, ¿a qué hora abren?", "thanks"],
    replies: { "hola, ¿a qué hora abren?": { text: "Abrimos a las nueve.", ms: 0, language: "es" }, thanks: { text: "You're welcome.", ms: 0, language: "en" } },
    agent: { languages: ["en", "es"], languageMode: "code_switch", voiceMap: { en: "espeak:en-us", es: "espeak:es" }, defaultVoiceId: "espeak:en-us" },
  });
  call.says(600);
  await call.until(() => call.plays.length === 1);
  call.says(600);
  await call.until(() => call.plays.length === 2);
  expect(call.synthesized).toEqual([
    { text: "Abrimos a las nueve.", voiceId: "espeak:es", language: "es" },
    { text: "You're welcome.", voiceId: "espeak:en-us", language: "en" },
  ]);
  expect(call.sttLanguages).toEqual([undefined, undefined]); // a code-switching agent's recognizer detects the language
  await call.stop();
});

it("hears a single-language agent's calls in its language", async () => {
  const call = scriptedCall({ endpointing: { minSilenceMs: 300, maxSilenceMs: 1200 }, heard: ["hello"], replies: { hello: { text: "Hi there.", ms: 0, language: "en" } } });
  call.says(600);
  await call.until(() => call.plays.length === 1);
  expect(call.sttLanguages).toEqual(["en"]);
  expect(call.synthesized).toEqual([{ text: "Hi there.", voiceId: undefined, language: "en" }]);
  await call.stop();
});

describe("call control (the real conversation runtime)", () => {
  let app: TestApp;
  let organizationId: string;
  let agentId: string;
  beforeAll(async () => {
    app = await startTestApp();
    const org = await app.newOrg();
    organizationId = org.organizationId;
    agentId = (await app.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Call control" } })).body.data.id;
  }, SLOW_SETUP);
  afterAll(() => app.stop());

  /** A call nobody speaks on: what the agent said and when, the silence turns, and the hangup. */
  function silentCall(callControl: CompiledConfig["agent"]["callControl"]) {
    const said: { text: string; at: number }[] = [];
    const silences: number[] = [];
    const events: AuditEvent[] = [];
    let hungUpAt: number | null = null;
    const clock = new FakeClock();
    const runtime = new ConversationRuntime({
      store: new ConversationStore(app.server.database.db),
      runSkill: async () => ({ kind: "error", code: "unused", message: "no skills here" }),
      llm: null,
      retriever: null,
      loadCompiled: async () => compiled,
      log: createLogger("error"),
    });
    // The runtime's storage works in real time: call time stands still until it has answered.
    let inStorage = 0;
    const held = <T>(work: Promise<T>) => (inStorage++, work.finally(() => inStorage--));
    const [start, turn, end] = [runtime.start.bind(runtime), runtime.turn.bind(runtime), runtime.end.bind(runtime)];
    runtime.start = (options, sink) => held(start(options, sink));
    runtime.turn = (org, id, input, sink) => {
      if (input.type === "silence") silences.push(clock.now());
      return held(turn(org, id, input, sink));
    };
    runtime.end = (org, id, reason, sink) => held(end(org, id, reason, sink));
    const compiled: CompiledConfig = { agent: { name: "Call control", ...defaultConfig(), callControl }, skills: [], playbooks: [], guardrails: [], callerVerification: [] };
    const session = new CallSession({
      runtime,
      speech: { vad: new EnergyVadFactory(), stt: null, tts: { synthesize: async (text) => (said.push({ text, at: clock.now() }), { samples: new Float32Array(80), sampleRate: 8000 }), voices: () => [] } },
      transport: { inputRate: 8000, outputRate: 8000, onAudio: () => {}, onDtmf: () => {}, play: async () => ({ finished: true, playedMs: 10 }), clear: () => {}, playing: false },
      start: { organizationId, agentId, agentVersionId: null, draftMode: true, compiled, source: "voice" },
      hangup: async () => void (hungUpAt = clock.now()),
      events: (event) => void events.push(event),
      log: createLogger("error"),
      clock,
    });
    const startedAt = clock.now();
    let over = false;
    const running = session.run().finally(() => (over = true));
    /** Moves call time on until `check` holds (or, without one, until the call is over). */
    const until = async (check?: () => boolean) => {
      await drive(clock, check ?? (() => over), 60_000, () => inStorage > 0);
      if (!check) await running;
    };
    return { clock, said, silences, events, startedAt, hungUpAt: () => hungUpAt, running, session, until, busy: () => inStorage > 0 };
  }

  it("reminds a silent caller first after idleReminderDelaySeconds, then every idleReminderIntervalSeconds, and ends the call after maxIdleReminders", async () => {
    const call = silentCall({ idleReminderDelaySeconds: 0.2, idleReminderIntervalSeconds: 0.7, maxIdleReminders: 2, maxCallSeconds: 60 });
    await call.until(); // the runtime ends the call after the reminders; the session hangs up
    const texts = call.said.map((s) => s.text);
    expect(texts).toEqual(["Hello!", "How can I help you today?", "Are you still there?", "Are you still there?", "I haven't heard from you, so I'll end the call now.", "Goodbye!"]);
    const greeted = call.said[1]!.at;
    const [first, second, last] = [2, 3, 4].map((i) => call.said[i]!.at);
    expect(first! - greeted).toBe(200);
    expect([second! - first!, last! - second!]).toEqual([700, 700]);
    expect(call.hungUpAt()).not.toBeNull();
    expect(call.silences.length).toBe(3);
  });

  it("stops sending silence turns once the no-response action was taken (onNoResponseAction continue)", async () => {
    const call = silentCall({ idleReminderDelaySeconds: 0.2, idleReminderIntervalSeconds: 0.3, maxIdleReminders: 1, onNoResponseAction: "continue", maxCallSeconds: 60 });
    await call.until(() => call.silences.length === 2);
    const after = call.clock.now();
    await call.until(() => call.clock.now() >= after + 10 * 300); // ten more reminder intervals of silence
    expect(call.said.map((s) => s.text)).toEqual(["Hello!", "How can I help you today?", "Are you still there?"]);
    expect(call.silences.length).toBe(2); // the reminder, then the turn the runtime answers with nothing
    expect(call.silences[1]! - call.silences[0]!).toBe(300);
    expect(call.hungUpAt()).toBeNull();
    while (call.busy()) await Bun.sleep(2);
    await call.session.callerHungUp();
    await call.running;
  });

  it("ends the call with maxDurationMessage when it reaches maxCallSeconds", async () => {
    const call = silentCall({ maxCallSeconds: 0.5, maxDurationMessage: "We have reached our time limit. Goodbye!", idleReminderDelaySeconds: 30 });
    await call.until();
    expect(call.said.map((s) => s.text).slice(-2)).toEqual(["We have reached our time limit.", "Goodbye!"]);
    expect(call.said.at(-2)!.at - call.startedAt).toBe(500);
    expect(call.hungUpAt()).not.toBeNull();
    const ended = call.events.find((e) => e.eventType === "call_ended")!;
    expect(ended.payload.reason).toBe("max_duration");
    const [row] = await app.query<{ status: string }>(`select status from conversations where id = '${ended.conversationId}'`);
    expect(row!.status).toBe("ended");
  });
});
