// The call session when the conversation runtime itself fails (its storage is down, say): the caller still hears an
// apology, never dead air, and the call goes on. The runtime here is a test double that throws on every turn; the
// transport is in memory. Everything the runtime answers for itself (brain and skill errors) is tested in
// test/runtime/conversation.test.ts.
import { expect, it } from "bun:test";
import { createLogger } from "../../src/platform/log.ts";
import type { CompiledConfig } from "../../src/runtime/compiled.ts";
import type { ConversationRuntime, TurnResult } from "../../src/runtime/conversation.ts";
import { CallSession, type CallTransport } from "../../voice/call.ts";
import { EnergyVadFactory } from "../../voice/speech/index.ts";

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
