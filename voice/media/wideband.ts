// Which format a call's ExternalMedia channel is opened in. µ-law is all a narrowband trunk carries; when the
// caller's own leg is wideband (G.722, Opus, …) µ-law would throw away everything above 4 kHz before recognition
// sees it, so such calls get slin16 (16 kHz linear) instead.

import type { Config } from "../../src/config.ts";

/** The VOICE_MEDIA_FORMAT setting: `auto` asks Asterisk what the caller's leg carries. */
export type MediaFormatSetting = Config["rtp"]["mediaFormat"];

/** Asterisk's names of codecs that carry more than 8 kHz audio (its format names, as `core show codecs` lists them). */
const WIDEBAND = new Set(["g722", "opus", "siren7", "siren14", "g719", "speex16", "speex32", "silk12", "silk16", "silk24", "slin12", "slin16", "slin24", "slin32", "slin44", "slin48", "slin96", "slin192"]);

/**
 * Codec names from Asterisk's `CHANNEL(audionativeformat)`, written as `ast_format_cap_get_names` does:
 * "(g722|ulaw)", "(ulaw)", or "(nothing)".
 */
export function parseFormatNames(value: string): string[] {
  return value
    .replace(/^\(|\)$/g, "")
    .split("|")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name && name !== "nothing");
}

/** slin16 when the setting says so, or when `auto` and the caller's leg carries a wideband codec; else µ-law. */
export function chooseMediaFormat(setting: MediaFormatSetting, nativeFormats: readonly string[] | null): "ulaw" | "slin16" {
  if (setting !== "auto") return setting;
  return nativeFormats?.some((name) => WIDEBAND.has(name)) ? "slin16" : "ulaw";
}
