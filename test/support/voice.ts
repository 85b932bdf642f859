// What the voice tests share: a caller's speech from espeak-ng, and the keypad playbook
// both the phone call and the in-browser test fill.
import { decodeWav, float32ToInt16, resample } from "../../voice/media/index.ts";
import { type agentBuilder, oneSlotGraph } from "./agent-builder.ts";

/**
 * What the voice tests allow real work (espeak-ng, Silero on its threads, storage) on a machine whose cores may be
 * kept busy by something else: waits are for events, and these only bound them.
 */
export const CALL_TEST_TIMEOUT_MS = 240_000;
/** For a hook that starts the app (a first PGlite start migrates a template; on a loaded machine that took 70 s). */
export const SLOW_SETUP = { timeout: 240_000 };

/** espeak-ng speech as 16-bit samples at `rate`: 8 kHz for a phone line, 16 kHz for a browser microphone. */
export async function spoken(text: string, rate: number): Promise<Int16Array> {
  const proc = Bun.spawn(["espeak-ng", "--stdout", "-v", "en-us", text], { stdout: "pipe" });
  const wav = decodeWav(new Uint8Array(await new Response(proc.stdout).arrayBuffer()));
  return float32ToInt16(resample(wav.samples, wav.sampleRate, rate));
}

/** A playbook that collects a 5-digit ZIP code, by keypad or by voice, and ends saying it back. */
export function addZipCheckPlaybook(b: ReturnType<typeof agentBuilder>, agentId: string) {
  return b.playbook(
    agentId,
    { name: "ZIP check", description: "check whether we deliver to a ZIP code" },
    oneSlotGraph({ variable: "zip", prompt: "Please key in your ZIP code.", slotType: "digits", dtmf: { enabled: true, expectedDigits: 5 } }, "Thanks, ZIP {zip} noted."),
  );
}
