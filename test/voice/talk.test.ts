// The in-browser voice test: POST /agents/{id}/talk-token over real HTTP, then a real WebSocket carrying 16 kHz PCM
// into the same call session a phone call gets: the greeting arrives as 20 ms frames, espeak-ng speech goes
// through Silero VAD and endpointing to the runtime (via a clearly named scripted recognizer), talking over the
// agent clears its playback, keypad digits fill a playbook slot, and hanging up ends the conversation.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createLogger } from "../../src/platform/log.ts";
import { createSpeech } from "../../voice/speech/index.ts";
import { agentBuilder } from "../support/agent-builder.ts";
import { until } from "../support/until.ts";
import { addZipCheckPlaybook, CALL_TEST_TIMEOUT_MS, SLOW_SETUP, spoken } from "../support/voice.ts";
import { startTestApp, type TestApp } from "../support/app.ts";
import { ScriptedSpeechToText } from "../support/scripted-stt.ts";

const hasEspeak = Bun.which("espeak-ng") !== null;
if (!hasEspeak) console.warn("espeak-ng is not installed (apt-get install espeak-ng): skipping the in-browser call tests");

let app: TestApp;
let stt: ScriptedSpeechToText;
let key: string;
let organizationId: string;
let published: string;
let draftOnly: string;

beforeAll(async () => {
  stt = new ScriptedSpeechToText();
  // Real Silero VAD (from its npm package) and espeak-ng voices; only the recognizer is scripted.
  const speech = { ...createSpeech({ modelsDir: "/nonexistent", speech: null }, createLogger("error"), { languages: ["en"] }), stt };
  app = await startTestApp({}, { speech });
  ({ key, organizationId } = await app.newOrg());
  const b = agentBuilder(app, key);
  // Reminders are not what these calls test: on a loaded machine the VAD's threads may hear the caller seconds late.
  const agent = await b.agent({
    name: "Browser desk",
    greeting: "Thanks for calling Acme Plumbing. How can I help?",
    endpointing: { minSilenceMs: 400, maxSilenceMs: 1200 },
    callControl: { idleReminderDelaySeconds: 120 },
  });
  await addZipCheckPlaybook(b, agent.id);
  await b.publish(agent.id);
  published = agent.id;
  draftOnly = (await b.agent({ name: "Never published", greeting: "Hello from the draft.", callControl: { idleReminderDelaySeconds: 120 } })).id;
}, SLOW_SETUP);

afterAll(async () => {
  await app.stop();
}, SLOW_SETUP);

const mint = (agentId: string, body?: unknown, as = key) => app.api("POST", `/api/v1/agents/${agentId}/talk-token`, { key: as, body });

/** The WebSocket URL to dial on this test server (the minted URL carries PUBLIC_BASE_URL's host). */
const dial = (minted: { url: string; token: string }) => `${app.url.replace(/^http/, "ws")}${new URL(minted.url).pathname}?token=${encodeURIComponent(minted.token)}`;

/** The browser's side: what the socket brought, with arrival times and loudness of each audio frame. */
class Browser {
  readonly frames: { at: number; bytes: number; energy: number }[] = [];
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => {
      if (typeof e.data === "string") return void this.messages.push(JSON.parse(e.data));
      const pcm = new Int16Array(e.data as ArrayBuffer);
      let sum = 0;
      for (const s of pcm) sum += s * s;
      this.frames.push({ at: performance.now(), bytes: (e.data as ArrayBuffer).byteLength, energy: Math.sqrt(sum / pcm.length) });
    };
    ws.onclose = (e) => (this.closed = { code: e.code, reason: e.reason });
  }

  static async open(url: string): Promise<Browser> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket refused"));
    });
    return new Browser(ws);
  }

  /** Sends audio as 20 ms frames of little-endian PCM, paced in real time. */
  async say(samples: Int16Array) {
    for (let at = 0; at < samples.length; at += 320) {
      const frame = new Int16Array(320);
      frame.set(samples.subarray(at, at + 320));
      this.ws.send(new Uint8Array(frame.buffer));
      await Bun.sleep(20);
    }
  }

  /** Silence, as a muted-but-open microphone sends. */
  quiet(ms: number) {
    return this.say(new Int16Array((16 * ms) | 0));
  }

  events = (type: string) => this.messages.filter((m) => m.type === "event" && m.event.eventType === type).map((m) => m.event);
  loudSince = (from: number) => this.frames.filter((f) => f.at >= from && f.energy > 200).length;
  silentFor = (ms: number) => !this.frames.length || performance.now() - this.frames.at(-1)!.at > ms;
}

describe("POST /agents/{id}/talk-token", () => {
  it("mints short-lived WebSocket credentials for the published version by default", async () => {
    const before = Date.now();
    const res = await mint(published);
    expect(res.status).toBe(201);
    const data = res.body.data;
    expect(data).toMatchObject({ draftMode: false, audio: { encoding: "pcm_s16le", sampleRate: 16000, channels: 1, frameMs: 20 } });
    expect(data.url).toMatch(/^wss?:\/\/[^/]+\/api\/v1\/talk\/room_[0-9A-Z]+$/);
    expect(data.url.endsWith(`/${data.room}`)).toBe(true);
    expect(data.token.split(".")).toHaveLength(3);
    const expires = Date.parse(data.expiresAt);
    expect(expires - before).toBeGreaterThan(4 * 60_000);
    expect(expires - before).toBeLessThanOrEqual(5 * 60_000 + 1000);
  });

  it("refuses an agent never published unless draftMode is true", async () => {
    const refused = await mint(draftOnly);
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(refused.body.code).toBe("no_published_version");
    const draft = await mint(draftOnly, { draftMode: true });
    expect(draft.status).toBe(201);
    expect(draft.body.data.draftMode).toBe(true);
  });

  it("answers 404 for another organization's agent, 400 for a bad body, 403 without agents:write, 401 without a key", async () => {
    const other = await app.newOrg();
    expect((await mint(published, undefined, other.key)).status).toBe(404);
    const bad = await mint(published, { draftMode: "yes" });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe("validation_error");
    const reader = await app.keyWith(organizationId, ["agents:read"]);
    const narrow = await mint(published, undefined, reader);
    expect(narrow.status).toBe(403);
    expect(narrow.body.requiredScope).toBe("agents:write");
    expect((await app.api("POST", `/api/v1/agents/${published}/talk-token`, { key: null })).status).toBe(401);
  });

  it("answers 403 dashboard_session_required when the installation reserves talk tokens for the dashboard", async () => {
    const strict = await startTestApp({ TALK_TOKENS_FOR_KEYS: "false" });
    try {
      const org = await strict.newOrg();
      const agent = await strict.api("POST", "/api/v1/agents", { key: org.key, body: { name: "Strict" } });
      const res = await strict.api("POST", `/api/v1/agents/${agent.body.data.id}/talk-token`, { key: org.key, body: { draftMode: true } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("dashboard_session_required");
    } finally {
      await strict.stop();
    }
  });
});

describe("the talk WebSocket", () => {
  it("refuses to open without a valid token for its room, more than once per token, or as plain HTTP", async () => {
    const minted = (await mint(published)).body.data;
    const path = new URL(minted.url).pathname;
    const upgrade = { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };
    const missing = await fetch(`${app.url}${path}`, { headers: upgrade });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect((await missing.json()).code).toBe("invalid_talk_token");
    const tampered = await fetch(`${app.url}${path}?token=${minted.token.slice(0, -2)}xx`, { headers: upgrade });
    expect(tampered.status).toBe(401);
    const other = (await mint(published)).body.data;
    const elsewhere = await fetch(`${app.url}${new URL(other.url).pathname}?token=${minted.token}`, { headers: upgrade });
    expect(elsewhere.status).toBe(401);
    const plain = await fetch(`${app.url}${path}?token=${minted.token}`);
    expect(plain.status).toBe(426);
    expect((await plain.json()).code).toBe("upgrade_required");

    const browser = await Browser.open(dial(minted));
    await until(() => browser.messages.some((m) => m.type === "ready"));
    const again = await fetch(`${app.url}${path}?token=${minted.token}`, { headers: upgrade });
    expect(again.status).toBe(409);
    expect((await again.json()).code).toBe("talk_token_used");
    browser.ws.close();
    await until(() => browser.closed);
    // Used is recorded in storage, not in this process: a server started again (as another replica would) refuses it too.
    await app.restart();
    const elsewhereAfter = await fetch(`${app.url}${path}?token=${minted.token}`, { headers: upgrade });
    expect(elsewhereAfter.status).toBe(409);
    expect((await elsewhereAfter.json()).code).toBe("talk_token_used");
  });

  it.skipIf(!hasEspeak)("greets in 20 ms frames, hears speech through VAD and endpointing, and fills a slot from keypad digits", async () => {
    const browser = await Browser.open(dial((await mint(published)).body.data));
    const ready = await until(() => browser.messages.find((m) => m.type === "ready"));
    expect(ready.audio).toEqual({ encoding: "pcm_s16le", sampleRate: 16000, channels: 1, frameMs: 20 });

    // The greeting: 640-byte frames (20 ms at 16 kHz) with speech in them (their pacing is test/voice/media/playout.test.ts).
    await until(() => browser.loudSince(0) > 40);
    expect(browser.frames.every((f) => f.bytes === 640)).toBe(true);
    await until(() => browser.silentFor(700));

    stt.say("Can you check whether you deliver to my ZIP code?");
    const asked = performance.now();
    await browser.say(await spoken("Can you check whether you deliver to my zip code?", 16_000));
    await browser.quiet(600);
    await until(() => browser.loudSince(asked) > 20);
    await until(() => browser.silentFor(700));

    browser.ws.send(JSON.stringify({ type: "dtmf", digits: "02139" }));
    await until(() => browser.events("agent_message").some((e) => e.payload.text === "Thanks, ZIP 02139 noted."));
    await until(() => browser.silentFor(700));

    // An end-call phrase: the agent says goodbye, its last words play, then the server says so and closes.
    stt.say("No, that's all. Goodbye!");
    await browser.say(await spoken("No, that's all. Goodbye", 16_000));
    await browser.quiet(600);
    const ended = await until(() => browser.messages.find((m) => m.type === "ended"));
    expect(ended.reason).toBe("agent_ended");
    expect(browser.events("call_ended")).toHaveLength(1);
    await until(() => browser.closed);
    expect(browser.closed!.code).toBe(1000);

    expect(browser.events("user_utterance").map((e) => e.payload.text)).toEqual(["Can you check whether you deliver to my ZIP code?", "02139", "No, that's all. Goodbye!"]);
    const conversationId = ready.conversationId;
    const [row] = await app.query<{ source: string; channel: string; draft_mode: boolean; status: string; outcome: string }>(
      `select source, channel, draft_mode, status, outcome from conversations where id = '${conversationId}'`,
    );
    expect(row).toMatchObject({ source: "talk", channel: "voice", draft_mode: false, status: "ended", outcome: "completed" });
    // The stored receipt holds what the browser was shown live.
    const stored = await app.api("GET", `/api/v1/conversations/${conversationId}/receipt`, { key });
    expect(stored.status).toBe(200);
    const storedTypes = (stored.body.data.events ?? stored.body.data).map((e: { eventType: string }) => e.eventType);
    expect(storedTypes).toEqual(expect.arrayContaining(["call_started", "user_utterance", "agent_message", "call_ended"]));
  }, CALL_TEST_TIMEOUT_MS);

  it.skipIf(!hasEspeak)("clears playback when the browser talks over the agent, runs the draft, and ends on hang-up", async () => {
    const browser = await Browser.open(dial((await mint(draftOnly, { draftMode: true })).body.data));
    const ready = await until(() => browser.messages.find((m) => m.type === "ready"));
    await until(() => browser.loudSince(0) > 10);
    stt.say("Sorry, one moment");
    await browser.say(await spoken("Sorry to interrupt, one moment please", 16_000));
    await until(() => browser.messages.some((m) => m.type === "clear"));
    const bargeIn = await until(() => browser.events("barge_in")[0]);
    expect(bargeIn.payload.stoppedPlayback).toBe(true);

    browser.ws.send(JSON.stringify({ type: "dtmf", digits: "not digits" }));
    const complaint = await until(() => browser.messages.find((m) => m.type === "error"));
    expect(complaint.code).toBe("invalid_message");

    browser.ws.send(JSON.stringify({ type: "hangup" }));
    const ended = await until(() => browser.messages.find((m) => m.type === "ended"));
    expect(ended.reason).toBe("caller_hung_up");
    await until(() => browser.closed);
    const [row] = await app.query<{ source: string; draft_mode: boolean; status: string }>(`select source, draft_mode, status from conversations where id = '${ready.conversationId}'`);
    expect(row).toMatchObject({ source: "talk", draft_mode: true, status: "ended" });
  }, CALL_TEST_TIMEOUT_MS);

  it("ends the conversation when the browser simply goes away", async () => {
    const browser = await Browser.open(dial((await mint(published)).body.data));
    const ready = await until(() => browser.messages.find((m) => m.type === "ready"));
    browser.ws.close();
    await until(async () => (await app.query<{ status: string }>(`select status from conversations where id = '${ready.conversationId}'`))[0]?.status === "ended");
  });

  it("closes a call in progress, stored as ended, when the server stops", async () => {
    const browser = await Browser.open(dial((await mint(published)).body.data));
    const ready = await until(() => browser.messages.find((m) => m.type === "ready"));
    await app.restart();
    await until(() => browser.closed);
    const [row] = await app.query<{ status: string }>(`select status from conversations where id = '${ready.conversationId}'`);
    expect(row!.status).toBe("ended");
    const [ended] = await app.query<{ payload: any }>(`select payload from conversation_events where conversation_id = '${ready.conversationId}' and event_type = 'call_ended'`);
    const payload = typeof ended!.payload === "string" ? JSON.parse(ended!.payload) : ended!.payload;
    expect(["server_stopping", "caller_hung_up"]).toContain(payload.reason);
  });
});
