// The echo gate (voice/media/echo.ts) on espeak-ng speech: the agent's audio coming back delayed, attenuated and
// through µ-law is found; the caller's own voice, alone or over the echo, is not. And choosing the media format.
import { describe, expect, it } from "bun:test";
import { chooseMediaFormat, decodeUlaw, EchoGate, encodeUlaw, parseFormatNames } from "../../../voice/media/index.ts";
import { spoken } from "../../support/voice.ts";

const hasEspeak = Bun.which("espeak-ng") !== null;

/**
 * Plays `agent` out 20 ms a frame and hears back, each frame, the agent's audio `delayMs` late times `gain` plus the
 * caller's times `callerGain` from `callerAtMs`, through µ-law. Counts loud frames gated, by who dominated them.
 */
function converse(agent: Int16Array, caller: Int16Array, o: { delayMs: number; gain: number; callerGain: number; callerAtMs: number }) {
  const gate = new EchoGate();
  const delay = o.delayMs * 8;
  const tally = { echo: 0, echoGated: 0, caller: 0, callerGated: 0 };
  for (let f = 0; f * 160 < agent.length + delay; f++) {
    const out = agent.subarray(f * 160, f * 160 + 160);
    if (out.length === 160) gate.sentFrame(out, f, f * 20);
    const heard = new Int16Array(160);
    let echoEnergy = 0;
    let callerEnergy = 0;
    for (let i = 0; i < 160; i++) {
      const t = f * 160 + i - delay;
      const e = t >= 0 && t < agent.length ? agent[t]! * o.gain : 0;
      const c = f * 160 + i - o.callerAtMs * 8;
      const v = c >= 0 && c < caller.length ? caller[c]! * o.callerGain : 0;
      echoEnergy += e * e;
      callerEnergy += v * v;
      heard[i] = Math.max(-32768, Math.min(32767, Math.round(e + v)));
    }
    const echo = gate.isEcho(decodeUlaw(encodeUlaw(heard)), 8000, f * 20 + 7);
    if (Math.sqrt(callerEnergy / 160) > 300) {
      tally.caller++;
      if (echo) tally.callerGated++;
    } else if (Math.sqrt(echoEnergy / 160) > 300) {
      tally.echo++;
      if (echo) tally.echoGated++;
    }
  }
  return { ...tally, stats: gate.stats };
}

describe.skipIf(!hasEspeak)("EchoGate", () => {
  it("finds the agent's own audio coming back, whatever its delay and level, and says how late it is", async () => {
    const agent = await spoken("Thanks for calling Acme Plumbing. How can I help you today? We fix leaks, pipes and water heaters.", 8000);
    for (const [delayMs, gain] of [[40, 1], [120, 0.5], [350, 0.2]] as const) {
      const t = converse(agent, new Int16Array(0), { delayMs, gain, callerGain: 0, callerAtMs: 0 });
      expect(t.echo).toBeGreaterThan(100);
      expect(t.echoGated / t.echo).toBeGreaterThan(0.98);
      expect(Math.abs(t.stats.delayMs! - delayMs)).toBeLessThanOrEqual(1);
    }
  });

  it("lets the caller's own voice through, alone or over the echo", async () => {
    const agent = await spoken("Thanks for calling Acme Plumbing. How can I help you today? We fix leaks, pipes and water heaters.", 8000);
    const caller = await spoken("Sorry to interrupt, can you check whether you deliver to my zip code?", 8000);
    const alone = converse(agent, caller, { delayMs: 0, gain: 0, callerGain: 1, callerAtMs: 500 });
    expect(alone.caller).toBeGreaterThan(100);
    expect(alone.callerGated / alone.caller).toBeLessThan(0.03);
    // Talking over an echo half as loud: most of the caller's frames pass (enough to barge in), the bare echo does not.
    const over = converse(agent, caller, { delayMs: 120, gain: 0.5, callerGain: 1, callerAtMs: 1000 });
    expect(over.callerGated / over.caller).toBeLessThan(0.15);
    expect(over.echoGated / over.echo).toBeGreaterThan(0.9);
  });

  it("compares 16 kHz inbound audio with what was sent at 8 kHz", async () => {
    const agent = await spoken("Thanks for calling Acme Plumbing. How can I help you today?", 8000);
    const gate = new EchoGate();
    let loud = 0;
    let gated = 0;
    for (let f = 0; f * 160 < agent.length; f++) {
      const out = agent.subarray(f * 160, f * 160 + 160);
      if (out.length === 160) gate.sentFrame(out, f, f * 20);
      if (f < 5) continue;
      // 100 ms later, upsampled by repeating samples as a crude translator would.
      const back = agent.subarray((f - 5) * 160, (f - 4) * 160);
      const wide = new Int16Array(320);
      for (let i = 0; i < 320; i++) wide[i] = back[i >> 1]! * 0.7;
      const rms = Math.sqrt(back.reduce((s, x) => s + x * x, 0) / 160);
      const echo = gate.isEcho(wide, 16000, f * 20 + 5);
      if (rms > 300) {
        loud++;
        if (echo) gated++;
      }
    }
    expect(loud).toBeGreaterThan(50);
    expect(gated / loud).toBeGreaterThan(0.95);
  });
});

describe("the media format of a call", () => {
  it("reads Asterisk's codec list as ast_format_cap_get_names writes it", () => {
    expect(parseFormatNames("(g722|ulaw)")).toEqual(["g722", "ulaw"]);
    expect(parseFormatNames("(ulaw)")).toEqual(["ulaw"]);
    expect(parseFormatNames("(nothing)")).toEqual([]);
  });

  it("opens slin16 for a wideband leg under auto, µ-law for a narrowband or unknown one, and obeys a fixed setting", () => {
    expect(chooseMediaFormat("auto", ["g722"])).toBe("slin16");
    expect(chooseMediaFormat("auto", ["opus"])).toBe("slin16");
    expect(chooseMediaFormat("auto", ["ulaw", "alaw"])).toBe("ulaw");
    expect(chooseMediaFormat("auto", null)).toBe("ulaw");
    expect(chooseMediaFormat("ulaw", ["g722"])).toBe("ulaw");
    expect(chooseMediaFormat("slin16", ["ulaw"])).toBe("slin16");
  });
});
