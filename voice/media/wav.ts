// RIFF/WAVE in and out: espeak-ng's output, speech-server answers and uploads, test prompts.

export interface DecodedAudio {
  /** Mono samples in [-1, 1] (channels are averaged). */
  samples: Float32Array;
  sampleRate: number;
}

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error("not a RIFF/WAVE file");
  let format: { code: number; channels: number; sampleRate: number; bits: number } | null = null;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      let code = view.getUint16(body, true);
      if (code === EXTENSIBLE && size >= 26) code = view.getUint16(body + 24, true);
      format = { code, channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), bits: view.getUint16(body + 14, true) };
    } else if (id === "data") {
      if (!format) throw new Error("WAVE data before its fmt chunk");
      // Streamed WAVs (espeak-ng --stdout) cannot know their length and write a placeholder size.
      const end = Math.min(bytes.length, body + size);
      return { samples: toMonoFloat(view, body, end, format), sampleRate: format.sampleRate };
    }
    offset = body + size + (size & 1);
  }
  throw new Error("WAVE file has no data chunk");
}

function toMonoFloat(view: DataView, start: number, end: number, f: { code: number; channels: number; bits: number }): Float32Array {
  const bytesPerSample = f.bits / 8;
  const frameBytes = bytesPerSample * f.channels;
  const frames = Math.floor((end - start) / frameBytes);
  const read =
    f.code === PCM && f.bits === 16
      ? (at: number) => view.getInt16(at, true) / 32768
      : f.code === PCM && f.bits === 8
        ? (at: number) => (view.getUint8(at) - 128) / 128
        : f.code === PCM && f.bits === 32
          ? (at: number) => view.getInt32(at, true) / 2147483648
          : f.code === IEEE_FLOAT && f.bits === 32
            ? (at: number) => view.getFloat32(at, true)
            : null;
  if (!read) throw new Error(`unsupported WAVE encoding (format ${f.code}, ${f.bits} bits)`);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < f.channels; c++) sum += read(start + i * frameBytes + c * bytesPerSample);
    out[i] = sum / f.channels;
  }
  return out;
}

/** 16-bit PCM mono WAV, the form every speech server accepts. */
export function encodeWav(samples: Float32Array, sampleRate: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    view.setInt16(44 + i * 2, Math.round(s * 32767), true);
  }
  return bytes;
}
