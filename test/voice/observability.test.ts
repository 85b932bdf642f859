// A phone call's metrics and traces: the app answering through the ARI stand-in with real RTP on loopback, traces
// going to the OTLP receiver stand-in. While the call is up /metrics shows it in progress and the RTP pacing
// histogram fills; the greeting and a keypad turn are traces of their own, with speech synthesis and the first
// packet of each reply under them (and the conversation's turn under the keypad turn); after the hang-up the call is
// no longer counted.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../../src/platform/log.ts";
import { createSpeech } from "../../voice/speech/index.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import { ariStandInEnv, startAriStandIn, type AriStandIn } from "../support/ari-stand-in.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { startOtlpStandIn, type ReceivedSpan } from "../support/otlp-stand-in.ts";
import { parseExposition, total } from "../support/prometheus.ts";
import { ScriptedSpeechToText } from "../support/scripted-stt.ts";
import { until } from "../support/until.ts";
import { CALL_TEST_TIMEOUT_MS, SLOW_SETUP } from "../support/voice.ts";

const AGENT_NUMBER = "+15557654000";
const hasEspeak = Bun.which("espeak-ng") !== null;
if (!hasEspeak) console.warn("espeak-ng is not installed (apt-get install espeak-ng): skipping the call observability test");

const otlp = startOtlpStandIn();
let standIn: AriStandIn;
let app: TestApp;
let modelsDir: string;

beforeAll(async () => {
  if (!hasEspeak) return;
  modelsDir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
  standIn = await startAriStandIn();
  const speech = { ...createSpeech({ modelsDir, speech: null }, createLogger("error"), { languages: ["en"] }), stt: new ScriptedSpeechToText() };
  const base = 20000 + Math.floor(Math.random() * 10000);
  app = await startTestApp(
    {
      ...ariStandInEnv(standIn, base, 5),
      TRUNK_NUMBERS: AGENT_NUMBER,
      MODELS_DIR: modelsDir,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    },
    { speech },
  );
  const { key } = await app.newOrg();
  const b = agentBuilder(app, key);
  const agent = await b.agent({ name: "Observed line", greeting: "Thanks for calling. How can I help?", callControl: { idleReminderDelaySeconds: 120 } });
  await b.publish(agent.id);
  const number = await b.call("POST", "/api/v1/numbers/purchase", { e164: AGENT_NUMBER });
  await b.call("POST", `/api/v1/numbers/${number.id}/assign`, { agentId: agent.id });
}, SLOW_SETUP);

afterAll(async () => {
  if (hasEspeak) {
    await app.stop();
    await standIn.stop();
    rmSync(modelsDir, { recursive: true, force: true });
  }
  otlp.stop();
}, SLOW_SETUP);

const metrics = async () => parseExposition(await (await fetch(`${app.url}/metrics`)).text());
const childrenOf = (parent: ReceivedSpan) => otlp.spans.filter((s) => s.parentSpanId === parent.spanId);

describe.skipIf(!hasEspeak)("a phone call's metrics and traces", () => {
  it(
    "counts the call in progress, times its RTP pacing, and traces the greeting and a turn down to the first packet",
    async () => {
      const before = standIn.requests.length;
      const channelId = standIn.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550001111" });
      const media = await until(() => {
        const joined = standIn.requests.slice(before).find((r) => r.operation === "bridges.addChannel" && String(r.query.channel).split(",").includes(channelId));
        const mediaId = joined && String(joined.query.channel).split(",").find((c) => c !== channelId);
        return mediaId ? standIn.media(mediaId) : undefined;
      });
      // The greeting arrives as RTP.
      await media.nextPacket(60_000);
      const during = await metrics();
      expect(total(during, "flowyte_calls_in_progress", { source: "voice" })).toBe(1);
      await until(async () => total(await metrics(), "flowyte_rtp_send_lateness_seconds_count") > 10);

      const greeting = await until(() => otlp.spans.find((s) => s.name === "voice.greeting"));
      expect(greeting.parentSpanId).toBeNull();
      expect(greeting.attributes["conversation.channel"]).toBe("voice");
      const greetingParts = await until(() => {
        const c = childrenOf(greeting);
        return c.some((s) => s.name === "tts.synthesize") && c.some((s) => s.name === "voice.first_audio") && c;
      });
      const tts = greetingParts.find((s) => s.name === "tts.synthesize")!;
      const firstAudio = greetingParts.find((s) => s.name === "voice.first_audio")!;
      expect(tts.attributes).toMatchObject({ "tts.language": "en" });
      // The first packet leaves after the first sentence was synthesized; the span ended when it was sent.
      // (Span clocks start at whole milliseconds: allow one.)
      expect(firstAudio.endNs + 1_000_000n >= tts.endNs).toBe(true);
      expect(firstAudio.attributes["reply.played"]).toBeUndefined();

      // A keypad turn: its own trace, the conversation's turn inside it.
      standIn.pressDigit(channelId, "1");
      standIn.pressDigit(channelId, "#");
      const turn = await until(() => otlp.spans.find((s) => s.name === "voice.turn"));
      expect(turn.parentSpanId).toBeNull();
      expect(turn.traceId).not.toBe(greeting.traceId);
      const conversationTurn = await until(() => childrenOf(turn).find((s) => s.name === "conversation.turn"));
      expect(conversationTurn.attributes).toMatchObject({ "conversation.channel": "voice", "conversation.id": turn.attributes["conversation.id"] });
      expect(total(await metrics(), "flowyte_turn_duration_seconds_count", { channel: "voice" })).toBeGreaterThanOrEqual(1);

      standIn.hangUp(channelId);
      await until(async () => total(await metrics(), "flowyte_calls_in_progress", { source: "voice" }) === 0);
    },
    CALL_TEST_TIMEOUT_MS,
  );
});
