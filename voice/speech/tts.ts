// Text to speech: Piper voices through sherpa-onnx (MODELS_DIR/piper/<voice>/), espeak-ng (the Debian
// binary, always there), and an OpenAI-compatible /audio/speech server. `VoiceRouter` puts them behind one
// TextToSpeech that picks the engine from the voice id and applies the agent lexicon first.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createLogger, type Logger } from "../../src/platform/log.ts";
import { decodeWav } from "../media/wav.ts";
import { loadSherpa, type SherpaOfflineTts } from "./sherpa.ts";
import { DEFAULT_SERVER_TIMEOUT_MS, type SpeechServer, type SynthesisOptions, type SynthesizedSpeech, type TextToSpeech, type VoiceInfo } from "./types.ts";

/** Replace each word or phrase of the lexicon (whole words, any case) by how it should be said. */
export function applyPronunciations(text: string, pronunciations: Record<string, string> | undefined): string {
  const entries = Object.entries(pronunciations ?? {}).filter(([word]) => word.trim());
  if (!entries.length) return text;
  const spoken = new Map(entries.map(([word, say]) => [word.toLowerCase(), say]));
  const words = entries
    .map(([w]) => w)
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${words.join("|")})(?![\\p{L}\\p{N}_])`, "giu");
  return text.replace(pattern, (match) => spoken.get(match.toLowerCase()) ?? match);
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

function voice(fields: Omit<VoiceInfo, "previewUrl" | "defaultSettings" | "capabilities" | "verifiedLanguages"> & { speedMin: number; speedMax: number }): VoiceInfo {
  const { speedMin, speedMax, ...rest } = fields;
  return {
    ...rest,
    capabilities: { stability: false, similarityBoost: false, style: false, speakerBoost: false, speed: true, speedMin, speedMax, ssml: false },
    previewUrl: null,
    verifiedLanguages: [{ language: fields.language.split("-")[0]!, modelId: fields.id, accent: fields.accent, locale: fields.language, previewUrl: null }],
    defaultSettings: { stability: 0, similarityBoost: 0, style: 0, useSpeakerBoost: false, speed: 1 },
  };
}

const regionName = (region: string | null) => (region && /^[A-Z]{2}$/.test(region) ? (new Intl.DisplayNames(["en"], { type: "region" }).of(region) ?? region) : null);
const languageName = (code: string) => new Intl.DisplayNames(["en"], { type: "language" }).of(code) ?? code;

// ---- Piper -----------------------------------------------------------------------------------------

export interface PiperVoiceFiles {
  /** e.g. en_US-amy-medium */
  name: string;
  model: string;
  tokens: string;
  dataDir: string;
}

/** The files of the Piper voice in `dir` (a sherpa-onnx vits-piper release); throws naming what is missing. */
export function findPiperVoice(dir: string): PiperVoiceFiles {
  if (!existsSync(dir)) throw new Error(`Piper voice not found: ${dir} does not exist`);
  const files = readdirSync(dir);
  const models = files.filter((f) => f.endsWith(".onnx"));
  const missing: string[] = [];
  if (models.length !== 1) missing.push(models.length ? `exactly one .onnx model (found ${models.join(", ")})` : "<voice>.onnx");
  if (!files.includes("tokens.txt")) missing.push("tokens.txt");
  if (!files.includes("espeak-ng-data")) missing.push("espeak-ng-data/");
  if (missing.length) throw new Error(`Piper voice in ${dir} is incomplete: missing ${missing.join(", ")}`);
  return { name: models[0]!.replace(/\.onnx$/, ""), model: join(dir, models[0]!), tokens: join(dir, "tokens.txt"), dataDir: join(dir, "espeak-ng-data") };
}

/** Genders of the Piper speakers most often installed; others are left unknown. */
const PIPER_GENDERS: Record<string, "female" | "male"> = {
  amy: "female", lessac: "female", kristin: "female", kathleen: "female", ljspeech: "female", hfc_female: "female", jenny_dioco: "female",
  alba: "female", cori: "female", southern_english_female: "female", ryan: "male", joe: "male", danny: "male", john: "male",
  norman: "male", bryce: "male", alan: "male", hfc_male: "male", northern_english_male: "male", thorsten: "male", siwis: "female",
};

export class PiperTextToSpeech implements TextToSpeech {
  private readonly engines = new Map<string, Promise<SherpaOfflineTts>>();
  private readonly catalog: VoiceInfo[];

  constructor(private readonly installed: PiperVoiceFiles[]) {
    this.catalog = installed.map((v) => piperVoiceInfo(v.name));
  }

  /** Every complete voice folder under `dir`; incomplete ones are reported to `skip`. */
  static fromDirectory(dir: string, skip: (reason: string) => void = () => {}): PiperTextToSpeech {
    const found: PiperVoiceFiles[] = [];
    if (existsSync(dir)) {
      for (const entry of readdirSync(dir).sort()) {
        const path = join(dir, entry);
        if (!statSync(path).isDirectory()) continue;
        try {
          found.push(findPiperVoice(path));
        } catch (err) {
          skip((err as Error).message);
        }
      }
    }
    return new PiperTextToSpeech(found);
  }

  voices(): VoiceInfo[] {
    return this.catalog;
  }

  async synthesize(text: string, opts: SynthesisOptions = {}): Promise<SynthesizedSpeech> {
    const name = (opts.voiceId ?? this.catalog[0]?.id ?? "").replace(/^piper:/, "");
    const files = this.installed.find((v) => v.name === name);
    if (!files) throw new Error(`Piper voice ${name || "(none)"} is not installed`);
    const tts = await this.engine(files);
    const audio = await tts.generateAsync({ text, sid: 0, speed: clamp(opts.speed ?? 1, 0.5, 2) });
    return { samples: audio.samples, sampleRate: audio.sampleRate };
  }

  private engine(files: PiperVoiceFiles): Promise<SherpaOfflineTts> {
    let engine = this.engines.get(files.name);
    if (!engine) {
      engine = loadSherpa().OfflineTts.createAsync({
        model: { vits: { model: files.model, tokens: files.tokens, dataDir: files.dataDir }, numThreads: 1, provider: "cpu", debug: 0 },
        maxNumSentences: 1,
      });
      this.engines.set(files.name, engine);
      engine.catch(() => this.engines.delete(files.name));
    }
    return engine;
  }
}

function piperVoiceInfo(name: string): VoiceInfo {
  // Piper names are <lang>_<REGION>-<speaker>-<quality>.
  const [locale = "", speaker = name, quality = ""] = name.split("-");
  const [lang = "en", region = null] = locale.split("_");
  const language = region ? `${lang}-${region}` : lang;
  const gender = PIPER_GENDERS[speaker] ?? null;
  const title = speaker.replace(/_/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());
  return voice({
    id: `piper:${name}`,
    name: `${title} (${language}${quality ? `, ${quality}` : ""})`,
    engine: "piper",
    language,
    supportedLanguages: [language],
    gender,
    age: null,
    accent: regionName(region),
    region,
    category: "neural",
    descriptorTags: ["natural", "warm", "clear"],
    useCases: ["support", "sales", "conversational", "ivr"],
    tier: "standard",
    description: `Natural neural ${gender ?? ""} voice ${title} speaking ${languageName(lang)}${region ? ` (${regionName(region)})` : ""}, Piper ${quality || ""} quality, run locally.`.replace(/\s+/g, " "),
    popularityScore: 0.7,
    featured: false,
    speedMin: 0.5,
    speedMax: 2,
  });
}

// ---- espeak-ng -------------------------------------------------------------------------------------

export interface EspeakVoice {
  /** espeak-ng's language name, what `-v` takes (en-us, en-gb-x-rp, cmn …). */
  code: string;
  name: string;
  gender: "female" | "male" | null;
  /** espeak-ng's own preference for the bare language (lower is preferred). */
  priority: number;
}

const espeakLists = new Map<string, EspeakVoice[]>();

/** espeak-ng's voices (`espeak-ng --voices`), listed once per binary; empty when it is not installed. */
export function listEspeakVoices(binary = "espeak-ng"): EspeakVoice[] {
  const cached = espeakLists.get(binary);
  if (cached) return cached;
  let out = "";
  try {
    const proc = Bun.spawnSync([binary, "--voices"], { stdout: "pipe", stderr: "ignore" });
    if (proc.success) out = proc.stdout.toString();
  } catch {
    // not installed: no voices
  }
  const voices: EspeakVoice[] = [];
  for (const line of out.split("\n").slice(1)) {
    const m = /^\s*(\d+)\s+(\S+)\s+\S+\/([MF-])\s+(\S+)\s+\S+\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, pty, code, gender, name, others] = m;
    const primary = code!.split("-")[0]!;
    const ownPriority = new RegExp(`\\(${primary} (\\d+)\\)`).exec(others ?? "")?.[1];
    voices.push({ code: code!, name: name!.replace(/_/g, " "), gender: gender === "F" ? "female" : gender === "M" ? "male" : null, priority: Number(ownPriority ?? pty) });
  }
  espeakLists.set(binary, voices);
  return voices;
}

/** espeak-ng names Mandarin `cmn`; agents call it `zh`. */
const ESPEAK_LANGUAGE_ALIASES: Record<string, string> = { cmn: "zh" };
/** The female variant offered beside each language's default (male) voice. */
const FEMALE_VARIANT = "f3";

function espeakLanguage(code: string): { language: string; primary: string; region: string | null } {
  const [first = "", second] = code.split("-");
  const primary = ESPEAK_LANGUAGE_ALIASES[first] ?? first;
  const region = second && /^([a-z]{2}|\d{3})$/i.test(second) ? second.toUpperCase() : null;
  return { language: region ? `${primary}-${region}` : primary, primary, region };
}

export class EspeakTextToSpeech implements TextToSpeech {
  private readonly catalog: VoiceInfo[];

  /** `languages`: primary subtags to offer (the agent languages); all of espeak-ng's when absent. */
  constructor(
    installed: EspeakVoice[],
    languages?: string[],
    private readonly binary = "espeak-ng",
  ) {
    const wanted = languages ? new Set(languages.map((l) => l.toLowerCase())) : null;
    const offered = installed.filter((v) => !wanted || wanted.has(espeakLanguage(v.code).primary));
    // Each language's preferred voice is featured: the default when an agent names no voice.
    const best = new Map<string, EspeakVoice>();
    for (const v of offered) {
      const p = espeakLanguage(v.code).primary;
      const current = best.get(p);
      if (!current || v.priority < current.priority) best.set(p, v);
    }
    this.catalog = offered.flatMap((v) => {
      const featured = best.get(espeakLanguage(v.code).primary) === v;
      return [espeakVoiceInfo(v, null, featured), espeakVoiceInfo(v, FEMALE_VARIANT, false)];
    });
  }

  voices(): VoiceInfo[] {
    return this.catalog;
  }

  async synthesize(text: string, opts: SynthesisOptions = {}): Promise<SynthesizedSpeech> {
    const id = opts.voiceId ?? this.catalog.find((v) => v.featured)?.id;
    if (!id || !this.catalog.some((v) => v.id === id)) throw new Error(`espeak-ng voice ${id ?? "(none)"} is not available`);
    // 175 words a minute is espeak-ng's normal rate.
    const wpm = Math.round(175 * clamp(opts.speed ?? 1, 0.5, 2.5));
    const proc = Bun.spawn([this.binary, "--stdout", "-b", "1", "-v", id.replace(/^espeak:/, ""), "-s", String(wpm)], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    proc.stdin.write(text);
    await proc.stdin.end();
    const [bytes, code, err] = await Promise.all([new Response(proc.stdout).arrayBuffer(), proc.exited, new Response(proc.stderr).text()]);
    if (code !== 0) throw new Error(`espeak-ng failed (exit ${code}): ${err.trim().slice(0, 200)}`);
    return decodeWav(new Uint8Array(bytes));
  }
}

function espeakVoiceInfo(v: EspeakVoice, variant: string | null, featured: boolean): VoiceInfo {
  const { language, region } = espeakLanguage(v.code);
  const gender = variant ? "female" : v.gender;
  const accent = /\((.+)\)/.exec(v.name)?.[1] ?? null;
  return voice({
    id: `espeak:${v.code}${variant ? `+${variant}` : ""}`,
    name: `${v.name}${variant ? ", female" : ""}`,
    engine: "espeak",
    language,
    supportedLanguages: [language],
    gender,
    age: null,
    accent,
    region,
    category: "synthetic",
    descriptorTags: ["robotic", "clear", "fast"],
    useCases: ["ivr", "notifications", "testing"],
    tier: "budget",
    description: `eSpeak NG formant ${gender ?? ""} voice for ${v.name}: robotic but clear, instant, needs no model, always available.`.replace(/\s+/g, " "),
    popularityScore: featured ? 0.4 : 0.2,
    featured,
    speedMin: 0.5,
    speedMax: 2.5,
  });
}

// ---- OpenAI-compatible server ----------------------------------------------------------------------

/** OpenAI's built-in voices, which OpenAI-compatible servers accept; used when a server lists none. */
const OPENAI_VOICES: Record<string, { gender: VoiceInfo["gender"]; tags: string[] }> = {
  alloy: { gender: "neutral", tags: ["balanced", "neutral", "clear"] },
  ash: { gender: "male", tags: ["clear", "confident"] },
  coral: { gender: "female", tags: ["warm", "friendly"] },
  echo: { gender: "male", tags: ["calm", "soft"] },
  fable: { gender: "male", tags: ["expressive", "storytelling"] },
  nova: { gender: "female", tags: ["bright", "energetic"] },
  onyx: { gender: "male", tags: ["deep", "authoritative"] },
  sage: { gender: "female", tags: ["calm", "wise"] },
  shimmer: { gender: "female", tags: ["soft", "warm"] },
};

export class OpenAiTextToSpeech implements TextToSpeech {
  private catalog: VoiceInfo[] = [];

  constructor(
    private readonly server: SpeechServer,
    private readonly languages: string[],
    private readonly model = "tts-1",
  ) {}

  /** A server that has not answered by then counts as failed, so the router can speak with espeak-ng instead of leaving silence. */
  private get timeoutMs(): number {
    return this.server.timeoutMs ?? DEFAULT_SERVER_TIMEOUT_MS;
  }

  private get headers(): Record<string, string> {
    return this.server.apiKey ? { authorization: `Bearer ${this.server.apiKey}` } : {};
  }

  /**
   * Learn the server's voices from GET /audio/voices (Kokoro-FastAPI, Speaches and others answer
   * `{voices: [...]}`); OpenAI itself has no such route, so its built-in names stand in when it fails.
   */
  async discover(timeoutMs = 3000): Promise<"listed" | "built-in"> {
    let names: string[] | null = null;
    try {
      const res = await fetch(`${this.server.baseUrl}/audio/voices`, { headers: this.headers, signal: AbortSignal.timeout(timeoutMs) });
      if (res.ok) {
        const body = (await res.json()) as { voices?: (string | { id?: string; name?: string })[] };
        names = (body.voices ?? []).map((v) => (typeof v === "string" ? v : (v.id ?? v.name ?? ""))).filter(Boolean);
      }
    } catch {
      names = null;
    }
    const listed = names !== null && names.length > 0;
    this.catalog = (listed ? names! : Object.keys(OPENAI_VOICES)).map((n) => this.voiceInfo(n));
    return listed ? "listed" : "built-in";
  }

  voices(): VoiceInfo[] {
    return this.catalog;
  }

  async synthesize(text: string, opts: SynthesisOptions = {}): Promise<SynthesizedSpeech> {
    const name = (opts.voiceId ?? this.catalog[0]?.id ?? "server:alloy").replace(/^server:/, "");
    try {
      const res = await fetch(`${this.server.baseUrl}/audio/speech`, {
        method: "POST",
        headers: { ...this.headers, "content-type": "application/json" },
        body: JSON.stringify({ model: this.model, input: text, voice: name, response_format: "wav", speed: clamp(opts.speed ?? 1, 0.25, 4) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!res.ok) throw new Error(`speech server answered ${res.status} to /audio/speech: ${(await res.text()).slice(0, 200)}`);
      return decodeWav(new Uint8Array(await res.arrayBuffer()));
    } catch (err) {
      if ((err as Error).name === "TimeoutError") throw new Error(`speech server did not answer /audio/speech within ${this.timeoutMs} ms`);
      throw err;
    }
  }

  private voiceInfo(name: string): VoiceInfo {
    const known = OPENAI_VOICES[name];
    return voice({
      id: `server:${name}`,
      name: name.charAt(0).toUpperCase() + name.slice(1),
      engine: "server",
      language: "en",
      supportedLanguages: this.languages,
      gender: known?.gender ?? null,
      age: null,
      accent: null,
      region: null,
      category: "server",
      descriptorTags: known?.tags ?? [],
      useCases: ["support", "sales", "conversational"],
      tier: "premium",
      description: `Voice "${name}" of the configured OpenAI-compatible speech server${known ? `: ${known.tags.join(", ")}` : ""}.`,
      popularityScore: 0.9,
      featured: false,
      speedMin: 0.25,
      speedMax: 4,
    });
  }
}

// ---- one TextToSpeech over all engines -------------------------------------------------------------

export interface VoiceEngines {
  piper?: PiperTextToSpeech | null;
  espeak?: EspeakTextToSpeech | null;
  server?: OpenAiTextToSpeech | null;
}

export interface VoiceRouterOptions {
  /** Where a voice standing in for another is reported (once per voice). */
  log?: Logger;
  /** How long a voice that failed is passed over (straight to espeak-ng) before it is tried again. */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * Speaks with the voice asked for, else espeak-ng: a voice that is not installed (an agent stored before its voice
 * was removed) or fails at run time (a Piper model that will not load, a speech server that is down) is replaced
 * by espeak-ng's voice for the language, with one warning per voice, so a call never goes silent for a voice.
 * Only espeak-ng failing too makes `synthesize` fail.
 */
export class VoiceRouter implements TextToSpeech {
  private readonly log: Logger;
  private readonly retryAfterMs: number;
  private readonly now: () => number;
  private readonly warned = new Set<string>();
  /** Voice id → when it may be tried again after a failure. */
  private readonly failedUntil = new Map<string, number>();

  constructor(
    private readonly engines: VoiceEngines,
    options: VoiceRouterOptions = {},
  ) {
    this.log = options.log ?? createLogger("warn");
    this.retryAfterMs = options.retryAfterMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  voices(): VoiceInfo[] {
    return [...(this.engines.server?.voices() ?? []), ...(this.engines.piper?.voices() ?? []), ...(this.engines.espeak?.voices() ?? [])];
  }

  /** Piper voices found again (a voice fetched while the server runs): new calls and `GET /voices` see them at once. */
  usePiper(piper: PiperTextToSpeech): void {
    this.engines.piper = piper;
  }

  /**
   * The voice used when an agent names none for `language`: the speech server's, else a Piper voice,
   * else espeak-ng's preferred one; a voice for the exact locale beats one for the language, and a bare language
   * is read in its usual region (`en` → US English, as the stand-in voice is).
   */
  defaultVoice(language = "en"): VoiceInfo | null {
    return bestVoice(this.voices(), withDefaultRegion(language));
  }

  async synthesize(text: string, opts: SynthesisOptions = {}): Promise<RoutedSpeech> {
    const spoken = applyPronunciations(text, opts.pronunciations);
    const id = opts.voiceId ?? this.defaultVoice(opts.language)?.id;
    const engine = id ? this.engineFor(id) : null;
    if (!id || !engine) return this.standIn(spoken, opts, id ?? null, id ? `voice ${id} is not installed` : `no voice installed for ${opts.language ?? "en"}`);
    const until = this.failedUntil.get(id);
    if (until !== undefined && this.now() < until) return this.standIn(spoken, opts, id, `voice ${id} failed recently`);
    try {
      const speech = await engine.synthesize(spoken, { ...opts, voiceId: id });
      this.failedUntil.delete(id);
      return speech;
    } catch (err) {
      // espeak-ng failing is the one failure there is nothing to fall back from.
      if (engine === this.engines.espeak) throw err;
      this.failedUntil.set(id, this.now() + this.retryAfterMs);
      return this.standIn(spoken, opts, id, `voice ${id} failed: ${(err as Error).message}`);
    }
  }

  private engineFor(id: string): TextToSpeech | null {
    const engine = id.startsWith("piper:") ? this.engines.piper : id.startsWith("espeak:") ? this.engines.espeak : id.startsWith("server:") ? this.engines.server : null;
    return engine && engine.voices().some((v) => v.id === id) ? engine : null;
  }

  /**
   * Speak with espeak-ng's voice for the language and region (any espeak-ng voice when it has none) in place of
   * `wanted`. A bare language is spoken in its usual region (DEFAULT_REGIONS: `en` is US English, where espeak-ng
   * itself prefers British); an agent configured for `en-GB` gets British English.
   */
  private async standIn(text: string, opts: SynthesisOptions, wanted: string | null, reason: string): Promise<RoutedSpeech> {
    const espeak = this.engines.espeak;
    const language = withDefaultRegion(opts.language ?? this.voices().find((v) => v.id === wanted)?.language ?? "en");
    const fallback = espeak ? (bestVoice(espeak.voices(), language) ?? bestVoice(espeak.voices(), "en-US") ?? espeak.voices().find((v) => v.featured) ?? espeak.voices()[0]) : undefined;
    if (!espeak || !fallback) throw new Error(`${reason}, and no espeak-ng voice can stand in (apt-get install espeak-ng)`);
    const key = wanted ?? `(default for ${language})`;
    if (!this.warned.has(key)) {
      this.warned.add(key);
      this.log.warn(`text to speech: ${reason}; speaking with espeak-ng voice ${fallback.id} instead (choose an installed voice: GET /voices, PUT /agents/{id}/voice)`);
    }
    const speech = await espeak.synthesize(text, { ...opts, voiceId: fallback.id });
    return { ...speech, standIn: { wanted, voiceId: fallback.id, reason } };
  }
}

/** Speech from the router, saying when another voice stood in for the one asked for. */
export interface RoutedSpeech extends SynthesizedSpeech {
  standIn?: { wanted: string | null; voiceId: string; reason: string };
}

/** The voice that stood in for the one asked for, when one did (speech from a `VoiceRouter`). */
export function standInOf(speech: SynthesizedSpeech): RoutedSpeech["standIn"] | null {
  return (speech as RoutedSpeech).standIn ?? null;
}

/** The region a bare language is spoken in when nothing says otherwise: the larger population of its speakers. */
const DEFAULT_REGIONS: Record<string, string> = { en: "US", pt: "BR" };

function withDefaultRegion(language: string): string {
  const region = DEFAULT_REGIONS[language.toLowerCase()];
  return region ? `${language.toLowerCase()}-${region}` : language;
}

/** The best of `voices` for `language`: the exact locale first, then featured, then the more popular; null when none speaks it. */
function bestVoice(voices: VoiceInfo[], language: string): VoiceInfo | null {
  const tag = language.toLowerCase();
  const primary = tag.split("-")[0]!;
  const rank = (v: VoiceInfo) => {
    const speaks = v.supportedLanguages.map((l) => l.toLowerCase());
    if (!speaks.some((l) => l === tag || l.split("-")[0] === primary)) return -1;
    return (speaks.includes(tag) ? 4 : 0) + (v.featured ? 2 : 0) + v.popularityScore;
  };
  let best: VoiceInfo | null = null;
  let bestRank = -1;
  for (const v of voices) {
    const r = rank(v);
    if (r > bestRank) [best, bestRank] = [v, r];
  }
  return best;
}
