import { describe, expect, it } from "bun:test";
import { compileLinear, MAX_PROGRAM_SIZE } from "../../../src/runtime/patterns/index.ts";
import { PlaybookRunner } from "../../../src/runtime/playbooks/interpreter.ts";
import { initialState } from "../../../src/runtime/state.ts";
import { Phrases, type Speech } from "../../../src/runtime/phrases/index.ts";

// Patterns whose escapes, classes and anchors differ between RE2 and JavaScript, and everyday validation patterns.
const PATTERNS = [
  "^\\d{5}$", "^\\d{5}(-\\d{4})?$", "^[A-Z]{2}\\d{6}$", "^[^@\\s]+@[^@\\s.]+(\\.[^@\\s.]+)+$", "^(yes|no)$", "^\\+?[0-9 ()-]{7,20}$",
  "^[A-Za-z ]+$", "\\d+", "^.*$", "^\\s*\\d+\\s*$", "a.c", "^\\S+$", "[\\s\\d]", "[^\\s]", "[\\S]", "^[\\s-z]+$", "\\u00e9", "\\x41",
  "[]", "[^]", "\\p{L}", "(?<zip>\\d{5})", "\\bcat\\b", "a{,3}", "\\/", "\\.", "[a-]", "\\cJ", "\\0", "^(a+)+$", "[[]", "[\\]]", "\\v", "[\\b]", "\\q",
];
const INPUTS = [
  "12345", "12345-6789", "AB123456", "a@b.c", "yes", "no", "+1 (555) 123-4567", "John Smith", "abc", "a\nc", "a\rc", "a\u2028c", " 42 ", "\u00a0", "\t",
  "\ufeff", "\v", "é", "A", "p{L}", "x", "cat", "a{,3}", "/", ".", "-", "\n", "\0", "aaaa", "[", "]", "\b", "z- z", "", "q",
];

describe("linear-time patterns", () => {
  it("answer as JavaScript's RegExp does for whitespace, dots, escapes and empty classes", () => {
    const differences: string[] = [];
    for (const source of PATTERNS) {
      const compiled = compileLinear(source);
      if (!compiled.ok) throw new Error(`${source}: ${compiled.reason}`);
      for (const text of INPUTS) {
        if (compiled.pattern.test(text) !== new RegExp(source).test(text)) differences.push(`${source} on ${JSON.stringify(text)}`);
      }
    }
    expect(differences).toEqual([]);
  });

  it("answer as JavaScript's RegExp does with the u flag of JSON Schema patterns", () => {
    for (const source of ["^\\p{Lu}\\p{Ll}+$", "^\\u{1F600}$", "^.$", "^[\\s\\S]{2}$"]) {
      const compiled = compileLinear(source, "u");
      if (!compiled.ok) throw new Error(`${source}: ${compiled.reason}`);
      for (const text of ["Ana", "ana", "😀", "é", "ab"]) expect([source, text, compiled.pattern.test(text)]).toEqual([source, text, new RegExp(source, "u").test(text)]);
    }
  });

  it("refuses what would need backtracking or an oversized program", () => {
    for (const source of ["(a)\\1", "(?<x>a)\\k<x>", "(?=a)", "(?!a)", "(?<=a)b", "(?<!a)b"]) {
      expect(compileLinear(source)).toEqual({ ok: false, reason: expect.stringContaining("cannot run in the linear-time matcher") });
    }
    expect(compileLinear("\\w{999}\\w{999}")).toEqual({ ok: false, reason: expect.stringContaining(`at most ${MAX_PROGRAM_SIZE}`) });
    expect(compileLinear("(")).toEqual({ ok: false, reason: "is not a valid regular expression" });
  });

  it("matches a catastrophic pattern against a long mismatch in linear time", () => {
    const compiled = compileLinear("^(\\w+\\s?)*$");
    if (!compiled.ok) throw new Error(compiled.reason);
    // A backtracking engine needs about 2^4000 steps for this; finishing at all is the proof.
    expect(compiled.pattern.test(`${"a".repeat(4000)}!`)).toBe(false);
    expect(compiled.pattern.test("hello world")).toBe(true);
  });
});

describe("a playbook runner with a stored pattern the linear engine cannot run", () => {
  it("accepts the answer on the other checks and warns once", async () => {
    const warnings: unknown[] = [];
    const runner = new PlaybookRunner(
      {
        id: "pbk_old",
        flowId: "flw_old",
        name: "Old",
        description: "old graph",
        inputSchema: {},
        outputSchema: {},
        graph: {
          nodes: [
            { id: "s", type: "start", data: {} },
            { id: "c", type: "collect", data: { variable: "code", prompt: "Code?", slotType: "text", validation: { pattern: "^(?=\\d)\\w+$", maxLength: 6 } } },
            { id: "e", type: "end", data: { message: "Got {code}.", outcome: "completed" } },
          ],
          connections: [
            { id: "1", source: "s", target: "c" },
            { id: "2", source: "c", target: "e" },
          ],
        },
      } as never,
      { warn: (msg: string, fields?: Record<string, unknown>) => warnings.push({ msg, ...fields }) },
    );
    const said: string[] = [];
    const host = { say: (t: Speech) => said.push(new Phrases().speak(t, "en").text), callSkill: async () => ({ status: "error" as const }), transfer: async () => {}, localNow: () => new Date(0), phoneRegion: () => "US" as const, giveUp: async () => {} };
    const state = initialState("en", {});
    await runner.start(state, host, null);
    await runner.input(state, host, { text: "far too long" });
    await runner.input(state, host, { text: "x1" });
    expect(said).toEqual(["Code?", "Sorry, I didn't catch that. Code?", "Got x1."]);
    expect(warnings).toEqual([expect.objectContaining({ playbookId: "pbk_old", pattern: "^(?=\\d)\\w+$" })]);
  });
});
