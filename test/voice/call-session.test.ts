// The call session's own decisions, over an in-memory transport with test doubles for the runtime and recognizers
// (the whole path with real RTP, VAD and runtime is test/voice/call.test.ts): when the runtime itself fails (its
// storage is down, say) the caller still hears an apology, never dead air; with a streaming recognizer the turn's
// text comes from the stream that heard it as it was spoken. What the runtime answers for itself (brain and skill
// errors) is tested in test/runtime/conversation.test.ts.
import { expect, it } from "bun:test";
import { createLogger } from "../../src/platform/log.ts";
import type { CompiledConfig } from "../../src/runtime/compiled.ts";
import type { ConversationRuntime, TurnResult } from "../../src/runtime/conversation.ts";
import { CallSession, type CallTransport } from "../../voice/call.ts";
import { EnergyVadFactory, type StreamingSpeechToText, type TranscriptionStream } from "../../voice/speech/index.ts";

it("apologises instead of going silent when a turn fails inside the runtime (failing runtime double)", async () => {
  const said: string[] = [];
  const logged: string[] = [];
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
  });

  const running = session.run();
  const deadline = Date.now() + 2000;
  while (!said.length && Date.now() < deadline) await Bun.sleep(5);
  digit("4");
  digit("2");
  while (said.length < 3 && Date.now() < deadline) await Bun.sleep(5);

  expect(turns).toBe(1);
  expect(logged.some((l) => l.includes("voice turn failed") && l.includes("storage is down"))).toBe(true);
  expect(said).toEqual(["Hello, how can I help?", "I'm sorry, something went wrong on my side.", "Could you say that again?"]);
  await session.callerHungUp();
  await running;
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
  const until = async (check: () => boolean) => {
    const deadline = Date.now() + 3000;
    while (!check() && Date.now() < deadline) await Bun.sleep(5);
  };
  frames(1000, false); // the line's noise floor, before anyone talks
  /** The caller talks for `ms`, then falls silent long enough to end the utterance. */
  const says = (ms: number) => (frames(ms, true), frames(400, false));
  return { inputs, offline, says, until, stop: async () => (await session.callerHungUp(), await running) };
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
  await Bun.sleep(250); // the first part is transcribed and sounds unfinished: the session waits for more
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
