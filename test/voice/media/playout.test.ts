// Outbound pacing on a fake clock (test/support/fake-clock.ts): when each 20 ms frame goes out, when a playback
// says it has played, re-phasing on speech after silence, skipping ahead after a stall, and barge-in, checked at
// exact virtual times instead of against a machine that may be busy. What goes on the wire is test/voice/media/rtp.test.ts.
import { describe, expect, it } from "bun:test";
import { FRAME_MS, Playout } from "../../../voice/media/playout.ts";
import { FakeClock } from "../../support/fake-clock.ts";

function playout(clock = new FakeClock()) {
  const sent: { at: number; talkspurt: boolean; tick: number; first: number }[] = [];
  const ticks: number[] = [];
  const p = new Playout({ sampleRate: 8000, clock, send: (frame, talkspurt, tick) => void sent.push({ at: clock.now(), talkspurt, tick, first: frame[0]! }), onTick: (now) => void ticks.push(now) });
  return { p, clock, sent, ticks };
}

/** `ms` of audio whose every sample is its frame's number (1, 2, …), so each sent frame says which it was. */
const numbered = (ms: number) => Int16Array.from({ length: (8000 * ms) / 1000 }, (_, i) => Math.floor(i / 160) + 1);

describe("Playout on a fake clock", () => {
  it("sends the first frame at once, then one every 20 ms, and says it has played one frame after the last", async () => {
    const { p, clock, sent } = playout();
    await clock.advance(7); // anywhere within the 20 ms cycle
    const asked = clock.now();
    let result: unknown = null;
    const played = p.play(numbered(1000)).then((r) => (result = r));
    expect(sent.length).toBe(1); // speech after silence goes out now, not at the next boundary
    expect(sent[0]).toMatchObject({ at: asked, talkspurt: true, first: 1 });
    await clock.advance(980);
    expect(sent.length).toBe(50);
    expect(sent.map((s) => s.at - asked)).toEqual(Array.from({ length: 50 }, (_, i) => i * FRAME_MS));
    expect(sent.map((s) => s.first)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(sent.filter((s) => s.talkspurt).length).toBe(1);
    expect(sent.map((s) => s.tick - sent[0]!.tick)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(result).toBeNull(); // the last frame's 20 ms are still playing
    await clock.advance(FRAME_MS);
    await played;
    expect(result).toEqual({ finished: true, playedMs: 1000 });
    p.close();
  });

  it("keeps ticking through silence, and re-phases a new talkspurt with its frame count still running", async () => {
    const { p, clock, sent, ticks } = playout();
    const first = p.play(numbered(40));
    await clock.advance(60);
    expect(await first).toEqual({ finished: true, playedMs: 40 });
    const last = sent.at(-1)!;
    const ticksBefore = ticks.length;
    await clock.advance(340);
    expect(ticks.length - ticksBefore).toBe(17); // the clock drains inbound audio while nothing is sent
    const asked = clock.now();
    const next = p.play(numbered(40));
    expect(sent.at(-1)).toMatchObject({ at: asked, talkspurt: true, first: 1 });
    // Frames kept counting through the silence, so RTP timestamps stay continuous.
    expect(sent.at(-1)!.tick - last.tick).toBe(Math.floor((asked - last.at) / FRAME_MS) + 1);
    await clock.advance(40);
    expect(await next).toEqual({ finished: true, playedMs: 40 });
    p.close();
  });

  it("stops at clear(): what is queued is cut off and not sent, and the next playback starts a new talkspurt", async () => {
    const { p, clock, sent } = playout();
    const long = p.play(numbered(3000));
    await clock.advance(300);
    expect(p.playing).toBe(true);
    const sentAtClear = sent.length;
    p.clear();
    expect(await long).toEqual({ finished: false, playedMs: sentAtClear * FRAME_MS });
    expect(p.queuedMs).toBe(0);
    await clock.advance(200);
    expect(sent.length).toBe(sentAtClear);
    const short = p.play(numbered(100));
    await clock.advance(100);
    expect(await short).toEqual({ finished: true, playedMs: 100 });
    expect(sent.slice(sentAtClear).map((s) => s.talkspurt)).toEqual([true, false, false, false, false]);
    p.close();
  });

  it("after a stall skips ahead instead of bursting the backlog, as a new talkspurt", async () => {
    const clock = new FakeClock();
    const { p, sent } = playout(clock);
    const playing = p.play(numbered(2000));
    await clock.advance(100);
    const beforeStall = sent.length;
    clock.stall(500); // the event loop was held up: time passes without timers running
    await clock.advance(0);
    const burst = sent.slice(beforeStall);
    expect(burst.length).toBeLessThanOrEqual(5);
    expect(burst[0]!.talkspurt).toBe(true);
    p.clear();
    await playing;
    p.close();
  });

  it("holds the queue while it has nowhere to send, losing nothing", async () => {
    const clock = new FakeClock();
    let ready = false;
    const sent: number[] = [];
    const p = new Playout({ sampleRate: 8000, clock, send: (frame) => void sent.push(frame[0]!), canSend: () => ready });
    const played = p.play(numbered(100));
    await clock.advance(200);
    expect(sent).toEqual([]);
    ready = true;
    await clock.advance(120);
    expect(await played).toEqual({ finished: true, playedMs: 100 });
    expect(sent).toEqual([1, 2, 3, 4, 5]);
    p.close();
  });

  it("sends nothing and sets no timer once closed", async () => {
    const { p, clock, sent } = playout();
    p.close();
    expect(await p.play(numbered(100))).toEqual({ finished: false, playedMs: 0 });
    await clock.advance(100);
    expect(sent).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

/** Fires every timeout `lateByMs` after it is due, as a busy event loop does. */
class LateClock extends FakeClock {
  constructor(private readonly lateByMs: number) {
    super();
  }
  override setTimeout(callback: () => void, ms: number) {
    return super.setTimeout(callback, ms + this.lateByMs);
  }
}

describe("Playout's pacing report", () => {
  it("reports how late each sent frame left its slot (none for silence), and when each playback's first frame went out", async () => {
    const clock = new LateClock(7);
    const lateness: number[] = [];
    const started: number[] = [];
    const p = new Playout({ sampleRate: 8000, clock, send: () => {}, onLateness: (ms) => void lateness.push(ms) });
    await clock.advance(3);
    const asked = clock.now();
    const first = p.play(numbered(100), () => void started.push(clock.now()));
    const second = p.play(numbered(40), () => void started.push(clock.now()));
    await clock.advance(400);
    await Promise.all([first, second]);
    // The talkspurt's first frame goes out at once; every later one 7 ms after its slot; silence reports nothing.
    expect(lateness).toEqual([0, 7, 7, 7, 7, 7, 7]);
    expect(started).toEqual([asked, asked + 5 * FRAME_MS + 7]);
    p.close();
  });
});
