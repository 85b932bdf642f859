// Stand-in for an OpenAI-compatible speech server, following OpenAI's audio API
// (POST /v1/audio/transcriptions as multipart with verbose_json, POST /v1/audio/speech answering WAV),
// plus GET /v1/audio/voices as Kokoro-FastAPI and Speaches answer it. It records what it was sent; `speechStatus`
// makes /audio/speech fail with that status (an OpenAI error body), `speechDelayMs` makes it answer late.
import { decodeWav, encodeWav } from "../../../voice/media/wav.ts";

export interface SpeechStandIn {
  /** Base URL ending in /v1, as SPEECH_BASE_URL is given. */
  baseUrl: string;
  transcriptions: { model: string; language: string | null; responseFormat: string | null; sampleRate: number; samples: number; authorization: string | null }[];
  syntheses: { model: string; input: string; voice: string; response_format: string; speed: number }[];
  stop(): void;
}

export function startSpeechStandIn(options: { voices?: string[] | null; speechStatus?: number; speechDelayMs?: number } = {}): SpeechStandIn {
  const transcriptions: SpeechStandIn["transcriptions"] = [];
  const syntheses: SpeechStandIn["syntheses"] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method === "GET" && path === "/v1/audio/voices") {
        return options.voices ? Response.json({ voices: options.voices }) : new Response("not found", { status: 404 });
      }
      if (req.method === "POST" && path === "/v1/audio/transcriptions") {
        const form = await req.formData();
        const file = form.get("file");
        if (!(file instanceof Blob)) return Response.json({ error: { message: "file is required" } }, { status: 400 });
        const wav = decodeWav(new Uint8Array(await file.arrayBuffer()));
        const language = (form.get("language") as string | null) ?? null;
        transcriptions.push({
          model: String(form.get("model")),
          language,
          responseFormat: (form.get("response_format") as string | null) ?? null,
          sampleRate: wav.sampleRate,
          samples: wav.samples.length,
          authorization: req.headers.get("authorization"),
        });
        const seconds = wav.samples.length / wav.sampleRate;
        return Response.json({
          task: "transcribe",
          language: language === "fr" ? "french" : "english",
          duration: seconds,
          text: ` I heard ${seconds.toFixed(1)} seconds. `,
          segments: [{ id: 0, start: 0, end: seconds, text: "I heard", avg_logprob: -0.2 }],
        });
      }
      if (req.method === "POST" && path === "/v1/audio/speech") {
        const body = (await req.json()) as SpeechStandIn["syntheses"][number];
        syntheses.push(body);
        if (options.speechDelayMs) await Bun.sleep(options.speechDelayMs);
        if (options.speechStatus) return Response.json({ error: { message: "the model is not loaded", type: "server_error" } }, { status: options.speechStatus });
        // 24 kHz WAV, as OpenAI sends: 50 ms of a 440 Hz tone per character.
        const samples = Float32Array.from({ length: body.input.length * 1200 }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 24000));
        return new Response(encodeWav(samples, 24000), { headers: { "content-type": "audio/wav" } });
      }
      return new Response("not found", { status: 404 });
    },
  });
  return { baseUrl: `http://127.0.0.1:${server.port}/v1`, transcriptions, syntheses, stop: () => server.stop(true) };
}
