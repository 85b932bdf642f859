// The one tokenizer every matcher shares (runtime matching, retrieval gating, gap grouping, keyword search, the
// hashing embedder), on English, German, Spanish, Russian and Japanese text.
import { describe, expect, it } from "bun:test";
import { createHashingEmbedder } from "../../src/knowledge/embedders/index.ts";
import { normalizedKey } from "../../src/api/knowledge/gaps.ts";
import { fold, terms, words } from "../../src/platform/tokens.ts";

describe("the tokenizer", () => {
  it("reads English: stop words dropped, light stemming so forms of a word meet", () => {
    expect(words("What are your opening hours on Saturdays?", "en")).toEqual(["opening", "hours", "saturdays"]);
    expect(terms("What are your opening hours on Saturdays?")).toEqual(["open", "hour", "saturday"]);
    expect(terms("I'm resetting my passwords, please")).toEqual(["reset", "password"]);
    expect(terms("We're a group of 20")).toEqual(["group", "20"]);
  });

  it("reads German: umlauts folded, ß as ss, German stop words dropped", () => {
    expect(words("Wann haben Sie am Samstag geöffnet?", "de")).toEqual(["samstag", "geoffnet"]);
    expect(words("Die Öffnungszeiten in der Straße", "de")).toEqual(["offnungszeiten", "strasse"]);
    // The folded form meets the one typed without umlauts.
    expect(terms("Öffnungszeiten")).toEqual(terms("Offnungszeiten"));
  });

  it("reads Spanish: accents and ñ folded, Spanish stop words dropped", () => {
    expect(words("¿Cuánto cuesta una limpieza para los niños?", "es")).toEqual(["cuanto", "cuesta", "limpieza", "ninos"]);
    expect(terms("niños")).toEqual(terms("nino"));
  });

  it("reads Russian: Cyrillic kept (ё as е), Russian stop words dropped", () => {
    expect(words("Во сколько вы открываетесь в субботу? Ёлка", "ru")).toEqual(["сколько", "открываетесь", "субботу", "елка"]);
    expect(terms("Часы работы").length).toBe(2);
  });

  it("reads Japanese: cut into words without spaces, particles dropped, kana marks kept", () => {
    expect(words("営業時間は何時から何時までですか？", "ja")).toEqual(["営業", "時間", "何時", "何時"]);
    expect(words("予約が必要ですか", "ja")).toEqual(["予約", "必要"]);
    // が is not か: the voicing mark is part of the letter, not an accent.
    expect(fold("が")).toBe("が");
  });

  it("unifies full-width letters and drops a language's stop words even when the language is not given", () => {
    expect(words("ＡＢＣ ｆｕｌｌ")).toEqual(["abc", "full"]);
    expect(words("der die das the le la el los и в")).toEqual([]);
  });

  it("groups rephrasings of a gap and embeds Cyrillic and Japanese text (the hashing embedder reads the same words)", async () => {
    expect(normalizedKey("What are your opening hours?")).toBe(normalizedKey("opening hours?"));
    expect(normalizedKey("Какие у вас часы работы?")).not.toBe("");
    const embedder = createHashingEmbedder();
    expect(embedder.model).toBe("hashing-384-v2");
    const [ja, same, other] = await embedder.embed(["営業時間は何時からですか", "営業時間", "駐車場はありますか"]);
    const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
    expect(dot(ja!, same!)).toBeGreaterThan(dot(ja!, other!));
    expect(ja!.some((v) => v !== 0)).toBe(true);
  });
});
